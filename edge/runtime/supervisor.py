"""One task per source, supervised: a failing connector is rebuilt after a capped backoff.

Connectors reconnect by themselves when a connection drops; this loop is the outer guard for
what they cannot handle (an exception escaping ``__aenter__`` or ``batches()``, a spec that
cannot work, a bug). A crash of one source is logged once (and its recovery once) and never
touches the other sources' tasks.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.backoff import Backoff
from connectors.base import ConfigurationError, ConnectionState, Connector, SourceStatus
from edge.logs import event
from edge.runtime.queue import SampleQueue

logger = logging.getLogger("edge.sources")

ConnectorFactory = Callable[[], Connector]


@dataclass(slots=True)
class SourceHealth:
    """What the supervisor knows about one source beyond the connector's own status."""

    name: str
    restarts: int = 0
    failure: str | None = None  # last escape from the connector, cleared on recovery
    samples_in: int = 0
    last_sample_ns: int | None = None
    last_receive_ns: int | None = None
    connector: Connector | None = None
    errors: dict[str, int] = field(default_factory=dict)

    def status(self) -> SourceStatus:
        """The connector's status merged with the supervisor's view."""
        conn = self.connector
        status: SourceStatus | None = getattr(conn, "status", None) if conn is not None else None
        state = conn.state if conn is not None else ConnectionState.reconnecting
        if self.failure is not None:
            state = ConnectionState.failed
        errors = dict(status.errors) if status is not None else {}
        for reason, n in self.errors.items():
            errors[reason] = errors.get(reason, 0) + n
        return SourceStatus(
            name=self.name,
            state=state,
            last_error=self.failure or (status.last_error if status else None),
            connected_since_ns=status.connected_since_ns if status else None,
            last_sample_ns=self.last_sample_ns,
            samples=self.samples_in,
            errors=errors,
        )


class SourceSupervisor:
    """Runs ``factory()`` connectors for one source forever, feeding ``queue``."""

    def __init__(
        self,
        name: str,
        factory: ConnectorFactory,
        queue: SampleQueue,
        *,
        backoff: Backoff | None = None,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        self.name = name
        self.health = SourceHealth(name)
        self._factory = factory
        self._queue = queue
        self._backoff = backoff or Backoff(base_s=0.5, cap_s=30.0, rng=random.Random())
        self._on_batch = on_batch

    async def run(self) -> None:
        """Never returns normally; cancel the task to stop (the connector is closed)."""
        while True:
            try:
                await self._session()
                reason = "connector stopped producing batches"
            except asyncio.CancelledError:
                raise
            except ConfigurationError as exc:
                reason = f"configuration: {exc}"
            except Exception as exc:  # the supervision boundary: one source must not stop others
                reason = f"{type(exc).__name__}: {exc}"
                if self.health.failure is None:
                    logger.exception("source %s crashed", self.name)
            self._failed(reason)
            await asyncio.sleep(self._backoff.next_delay())

    async def _session(self) -> None:
        connector = self._factory()
        async with connector:
            self.health.connector = connector
            try:
                async for batch in connector.batches():
                    if not batch.samples:
                        batch.ack()
                        continue
                    await self._queue.put(self.name, batch)
                    self._counted(len(batch.samples), batch.samples[-1].ts_ns)
            finally:
                self.health.connector = None

    def _counted(self, n: int, last_ts_ns: int) -> None:
        health = self.health
        health.samples_in += n
        health.last_sample_ns = last_ts_ns
        health.last_receive_ns = time.time_ns()
        if health.failure is not None:
            event(logger, logging.INFO, "source recovered", source=self.name)
            health.failure = None
            self._backoff.reset()
        if self._on_batch is not None:
            self._on_batch(self.name, n)

    def _failed(self, reason: str) -> None:
        health = self.health
        health.restarts += 1
        health.errors["connector_crash"] = health.errors.get("connector_crash", 0) + 1
        if health.failure is None:  # log a failure once, its recovery once
            event(logger, logging.ERROR, "source failed", source=self.name, reason=reason)
        health.failure = reason
