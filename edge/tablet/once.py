"""At-most-once execution of operator actions keyed by an idempotency key.

A double tap sends two requests with the same key, possibly concurrently: the first runs the
action, the second waits for it and gets the same receipt marked ``duplicate``. ``lookup`` lets
an implementation find receipts that survived a restart (e.g. in its store).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from edge.tablet.models import Receipt

Lookup = Callable[[str], Awaitable[Receipt | None]]


async def _none(_key: str) -> Receipt | None:
    return None


class Once:
    """Memo of recent receipts (bounded, oldest evicted) plus a per-key lock."""

    def __init__(self, *, lookup: Lookup = _none, capacity: int = 10_000) -> None:
        self._lookup = lookup
        self._capacity = capacity
        self._done: OrderedDict[str, Receipt] = OrderedDict()
        # key -> (lock, number of requests holding or waiting for it)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def run(self, key: str, action: Callable[[], Awaitable[Receipt]]) -> Receipt:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                previous = self._done.get(key) or await self._lookup(key)
                if previous is not None:
                    return dataclasses.replace(previous, duplicate=True)
                receipt = await action()
                self._remember(receipt)
                return receipt
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _remember(self, receipt: Receipt) -> None:
        self._done[receipt.key] = receipt
        while len(self._done) > self._capacity:
            self._done.popitem(last=False)
