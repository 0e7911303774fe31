"""The machinery every connector shares: a bounded batch queue and a supervised session loop.

``SupervisedConnector`` runs ``_session()`` in a task; when it raises :class:`ConnectError`
(or returns), the connector goes ``reconnecting``, sleeps a capped, jittered backoff and calls
``_session()`` again — a loop *outside* the protocol client, so a server restart always ends in
a fresh session. Samples go to a bounded :class:`asyncio.Queue`; when it is full, producers
wait (back-pressure: polls slow down, MQTT stops reading its socket), nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Self

from connectors.backoff import Backoff
from connectors.base import (
    Batch,
    ConfigurationError,
    ConnectError,
    ConnectionState,
    Sample,
    SampleColumns,
    SourceStatus,
    WriteNotSupported,
)
from connectors.health import BadInputCounter, Clock, StatusTracker

logger = logging.getLogger("connectors")


class SupervisedConnector:
    """Base for protocol connectors: subclasses implement ``_session`` (and maybe ``write``)."""

    def __init__(
        self,
        name: str,
        *,
        queue_batches: int = 1024,
        backoff: Backoff | None = None,
        log_interval_s: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._queue: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=queue_batches)
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0, rng=random.Random())
        bad = BadInputCounter(name, logger, interval_s=log_interval_s)
        if clock is not None:
            bad.clock = clock
        self._tracker = StatusTracker(name, bad)
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # -- public surface ----------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._tracker.state

    @property
    def status(self) -> SourceStatus:
        return self._tracker.snapshot()

    async def __aenter__(self) -> Self:
        self._tracker.set_state(ConnectionState.connecting)
        self._task = asyncio.create_task(self._supervise(), name=f"connector:{self.name}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        task = self._task
        if task is not None:
            # Python 3.11's wait_for can swallow a cancel that races with a reply (gh-86296),
            # and client libraries await it deep inside: cancel until the task is really done.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                task.result()
            self._task = None
        await self._close()
        self._tracker.set_state(ConnectionState.closed)
        # Wake a consumer blocked in batches() (only possible when the queue is empty, so the
        # end marker always fits then); batches already queued are still delivered.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def batches(self) -> AsyncIterator[Batch]:
        """Every batch, in order; ends after ``__aexit__`` once the queued ones are delivered."""
        while not (self._closing and self._queue.empty()):
            batch = await self._queue.get()
            if batch is None:
                return
            yield batch

    async def write(self, signal: str, value: float | str) -> None:
        raise WriteNotSupported(f"source {self.name}: no downlink for signal {signal!r}")

    # -- for subclasses ----------------------------------------------------------------------
    async def _session(self) -> None:
        """Connect, produce until the connection is lost (raise ConnectError), clean up."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Release what ``_session`` may have left open (called once on exit)."""

    def _bad(self, reason: str, detail: str = "", n: int = 1) -> None:
        self._tracker.bad.add(reason, detail, n)

    def _connected(self) -> None:
        self._backoff.reset()
        if self._tracker.state is not ConnectionState.connected:
            logger.info("source %s: connected", self.name)
        self._tracker.set_state(ConnectionState.connected)

    async def _emit(
        self, samples: list[Sample] | SampleColumns, ack: Callable[[], None] | None = None
    ) -> None:
        """Queue one batch (waits while the queue is full: back-pressure, never a drop)."""
        if not len(samples):
            if ack is not None:
                ack()
            return
        self._tracker.count_samples(len(samples), samples[-1].ts_ns)
        held = samples if isinstance(samples, SampleColumns) else tuple(samples)
        await self._queue.put(Batch(held, ack) if ack is not None else Batch(held))

    # -- the loop ----------------------------------------------------------------------------
    async def _supervise(self) -> None:
        while not self._closing:
            try:
                await self._session()
                reason = "session ended"
            except ConnectError as exc:
                reason = str(exc) or type(exc).__name__
            except ConfigurationError as exc:
                # Retrying cannot help: report it on /health and stop this source only.
                logger.error("source %s: %s", self.name, exc)
                self._tracker.set_state(ConnectionState.failed, str(exc))
                return
            except Exception as exc:
                # A bug or an unexpected library error must not kill the source for good: log
                # it with its traceback and start a new session after the backoff.
                logger.exception("source %s: unexpected error in the session", self.name)
                reason = f"internal error: {type(exc).__name__}: {exc}"
            if self._closing:
                return
            was_connected = self._tracker.state is ConnectionState.connected
            self._bad("connection_lost" if was_connected else "connect_failed", reason)
            self._tracker.set_state(ConnectionState.reconnecting, reason)
            await asyncio.sleep(self._backoff.next_delay())
