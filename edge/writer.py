"""The one thread that talks to DuckDB, and its asyncio facade.

Every DuckDB call of the process goes through :meth:`StoreWriter.call`, which runs a function on
a single-thread executor that owns the :class:`~edge.store.Store`; the event loop only awaits.
A closed (or never opened) store is reopened on demand, so an unwritable data dir at start-up
or a disk that fills up later is retried on the next call rather than ending the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self, TypeVar

from edge.store import Store, StoreUnavailable

T = TypeVar("T")


class StoreWriter:
    """Async access to a :class:`Store` confined to one dedicated thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._executor: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> Self:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, self.store.close)
        executor.shutdown(wait=True)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, *args, **kwargs)`` on the writer thread (opening the store if needed)."""
        if self._executor is None:
            raise StoreUnavailable("store writer is not running")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn, args, kwargs)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        if not self.store.is_open:
            self.store.open()
        return fn(self.store, *args, **kwargs)
