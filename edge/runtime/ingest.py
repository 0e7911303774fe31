"""Ingest loop: take batches from the queue, commit them to DuckDB, then acknowledge them.

Order matters for "nothing lost": a batch is acked (MQTT: PUBACK to the broker) only after the
transaction that holds its samples has committed. When the store is unavailable the batches stay
in the queue's bound (not acked, not dropped) and the commit is retried every ``retry_s``; the
failure is logged once and the recovery once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from connectors.base import Sample, SampleColumns
from edge.logs import event
from edge.runtime.queue import Item, SampleQueue
from edge.store import Store, StoreUnavailable
from edge.writer import StoreWriter

logger = logging.getLogger("edge.ingest")


def to_columns(items: Sequence[Item]) -> SampleColumns:
    """Every sample in ``items`` as one set of columns (no per-row DuckDB call).

    Column batches (:class:`SampleColumns`, the MQTT JSON path) are concatenated as arrays;
    sample tuples (the other connectors) are gathered into one more part. The row order between
    batches does not matter to the store.
    """
    parts: list[SampleColumns] = []
    rows: list[Sample] = []
    for item in items:
        samples = item.batch.samples
        if isinstance(samples, SampleColumns):
            parts.append(samples)
        else:
            rows.extend(samples)
    if rows or not parts:
        parts.append(SampleColumns.from_samples(rows))
    return SampleColumns.concat(parts)


def _ack_all(items: Sequence[Item]) -> None:
    for item in items:
        item.batch.ack()


def _append(store: Store, columns: SampleColumns) -> int:
    return store.append_samples(columns)


class Ingest:
    """The consumer side of the :class:`SampleQueue`."""

    def __init__(
        self,
        queue: SampleQueue,
        writer: StoreWriter,
        *,
        max_batch_samples: int = 50_000,
        linger_s: float = 0.05,
        retry_s: float = 1.0,
        on_commit: Callable[[int, float], None] | None = None,
    ) -> None:
        self._queue = queue
        self._writer = writer
        self._max = max_batch_samples
        self._linger_s = linger_s
        self._retry_s = retry_s
        self._on_commit = on_commit
        self.store_error: str | None = None
        self.committed_samples = 0
        self.last_commit_ns: int | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # Acks go out from their own thread: an MQTT ack is a socket write per message (paho
        # wakes its network thread for each), which would otherwise stall this loop. One round
        # of acks at a time, always after its commit.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ack") as acks:
            pending: asyncio.Future[None] | None = None
            while True:
                items = await self._queue.take(self._max, self._linger_s)
                await self._commit(items)
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(acks, _ack_all, items)
                await self._queue.release(items)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until everything queued so far is committed (for a clean shutdown)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.wait_empty()
        except TimeoutError:
            return False
        return True

    async def _commit(self, items: list[Item]) -> None:
        columns = to_columns(items)
        while True:
            started = time.perf_counter()
            try:
                await self._writer.call(_append, columns)
            except StoreUnavailable as exc:
                self.report_unavailable(str(exc))
                await asyncio.sleep(self._retry_s)
                continue
            elapsed = time.perf_counter() - started
            self.committed_samples += len(columns)
            self.last_commit_ns = time.time_ns()
            if self._on_commit is not None:
                self._on_commit(len(columns), elapsed)
            if self.store_error is not None:
                event(logger, logging.INFO, "store recovered", held_samples=self._queue.depth)
                self.store_error = None
            return

    def report_unavailable(self, reason: str) -> None:
        """Record (and log once) that the store cannot be written."""
        if self.store_error is None:
            event(
                logger,
                logging.ERROR,
                "store unavailable, holding samples in memory",
                reason=reason,
                held_samples=self._queue.depth,
                bound=self._queue.max_samples,
            )
        self.store_error = reason
