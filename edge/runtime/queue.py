"""Bounded buffer of sample batches between the connectors and the store.

Policy when full: back-pressure, never drop. ``put`` awaits until the batch fits, so a
connector's ``batches()`` iteration simply waits — polling sources poll later (counters are
cumulative, so a later poll loses nothing) and MQTT stops acknowledging, so the broker keeps the
messages. The bound counts samples, not batches, and covers the batches that the ingest loop has
taken but not yet committed: memory stays bounded while the disk is unavailable.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from connectors.base import Batch


@dataclass(frozen=True, slots=True)
class Item:
    source: str
    batch: Batch


class SampleQueue:
    """At most ``max_samples`` samples held (queued + taken-but-unreleased).

    A single batch larger than the bound is admitted when the queue is empty, so an oversized
    batch cannot deadlock its connector.
    """

    def __init__(self, max_samples: int) -> None:
        if max_samples <= 0:
            raise ValueError("max_samples must be positive")
        self.max_samples = max_samples
        self._items: deque[Item] = deque()
        self._held = 0  # samples queued or taken and not yet released
        self._queued = 0  # samples queued, not yet taken
        self._cond = asyncio.Condition()

    @property
    def depth(self) -> int:
        """Samples in memory: queued plus taken but not committed."""
        return self._held

    @property
    def queued(self) -> int:
        return self._queued

    async def put(self, source: str, batch: Batch) -> None:
        n = len(batch.samples)
        async with self._cond:
            await self._cond.wait_for(lambda: self._held == 0 or self._held + n <= self.max_samples)
            self._items.append(Item(source, batch))
            self._held += n
            self._queued += n
            self._cond.notify_all()

    async def take(self, max_samples: int, linger_s: float) -> list[Item]:
        """Wait for at least one batch, then up to ``linger_s`` more for ``max_samples``."""
        async with self._cond:
            await self._cond.wait_for(lambda: bool(self._items))
        if linger_s > 0 and self._queued_under(max_samples):
            try:
                async with asyncio.timeout(linger_s):
                    async with self._cond:
                        await self._cond.wait_for(lambda: not self._queued_under(max_samples))
            except TimeoutError:
                pass
        taken: list[Item] = []
        count = 0
        while self._items and (
            not taken or count + len(self._items[0].batch.samples) <= max_samples
        ):
            item = self._items.popleft()
            taken.append(item)
            count += len(item.batch.samples)
        self._queued -= count
        return taken

    def _queued_under(self, max_samples: int) -> bool:
        # Also stop lingering when the bound is reached: putters are waiting for a commit.
        return self._queued < max_samples and self._held < self.max_samples

    async def wait_empty(self) -> None:
        """Return once nothing is held (everything put so far has been committed)."""
        async with self._cond:
            await self._cond.wait_for(lambda: self._held == 0)

    async def release(self, items: list[Item]) -> None:
        """Forget committed items and wake the connectors waiting for room."""
        n = sum(len(item.batch.samples) for item in items)
        async with self._cond:
            self._held -= n
            self._cond.notify_all()
