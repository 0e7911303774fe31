"""Runs sync, order tracking and downlink next to a running :class:`edge.agent.Agent`.

``async with EdgeSync(agent):`` starts, using only the agent's public collaborators (writer,
supervisors, jobs, metrics registry):

- the :class:`~edge.sync.SyncClient` (when the config has a ``central`` section);
- the order tracker: every ``track_interval_s``, ends finished orders, starts the next ones on
  ``auto_start_order`` machines, backflushes, queues downlink writes (:mod:`edge.orders`);
- the :class:`~edge.downlink.Downlink` writer;
- a tighter analytics cadence (``analytics_interval_s``) so a cycle reaches central within
  about a second: production records are cut every run and pushed as soon as they exist.

While it runs, it shows the sync and downlink state on the agent's ``/health``
(:mod:`edge.sync_health`: reported as degraded, never a 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Self

import httpx
from prometheus_client import Gauge

from central.contract import Dispatch
from connectors.base import Connector
from edge.api.deps import DownlinkHealthOut, SyncHealthOut
from edge.downlink import Downlink
from edge.logs import event
from edge.orders import MachinePolicy, TrackResult, apply_dispatch, track
from edge.store import OutboxStats, StoreError
from edge.sync import SyncClient, SyncError
from edge.sync_health import downlink_health, sync_health, warnings

if TYPE_CHECKING:
    from edge.agent import Agent

logger = logging.getLogger("edge.sync")
LAST_PUSH_S = 3.0  # of the agent's shutdown budget, for the last batch to central


def policies(agent: Agent) -> list[MachinePolicy]:
    return [
        MachinePolicy(
            id=m.id,
            auto_start=m.auto_start_order,
            downlink=bool({"order", "target"} & set(m.source.signals)),
        )
        for m in agent.config.machines
    ]


class EdgeSync:
    """Sync, order tracking and downlink of one agent (see module doc)."""

    def __init__(
        self,
        agent: Agent,
        *,
        track_interval_s: float = 0.5,
        analytics_interval_s: float = 0.5,
        **sync_options: object,
    ) -> None:
        self.agent = agent
        # one INFO line per request (several a second) would drown the edge's own log
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._policies = policies(agent)
        self._track_s = track_interval_s
        self._analytics_s = analytics_interval_s
        self._tasks: list[asyncio.Task[None]] = []
        self.last_track: TrackResult | None = None
        self.sync: SyncClient | None = None
        if agent.config.central is not None:
            self.sync = SyncClient(
                agent.config,
                agent.writer,
                on_dispatch=self._on_dispatch,
                send_hello=False,  # the agent records its hello at start-up
                **sync_options,  # type: ignore[arg-type]
            )
        self.downlink = Downlink(
            {m.id: m for m in agent.config.machines},
            agent.writer,
            self._connector,
            registry=agent.metrics.registry,
            on_failure=self._count_failure,
        )
        self._register_metrics()

    def _register_metrics(self) -> None:
        registry = self.agent.metrics.registry
        acked = Gauge("edge_sync_acked_through", "Highest seq acked by central", registry=registry)
        acked.set_function(lambda: self.sync.status.acked_through if self.sync else 0)
        ok = Gauge("edge_sync_ok", "1 when the last push to central succeeded", registry=registry)
        ok.set_function(lambda: 1 if self.sync and self.sync.status.push_error is None else 0)

    # --- /health (edge.runtime.services.SyncView) ---------------------------------------------

    def _secrets(self) -> list[str | None]:
        central = self.agent.config.central
        return [central.token()] if central is not None else []

    def sync_health(self, now_ns: int, outbox: OutboxStats | None) -> SyncHealthOut | None:
        if self.sync is None:
            return None
        return sync_health(
            self.sync.status,
            central_url=self.sync.central.url,
            outbox=outbox,
            now_ns=now_ns,
            secrets=self._secrets(),
        )

    def downlink_health(self) -> list[DownlinkHealthOut]:
        machines = [p.id for p in self._policies if p.downlink]
        return downlink_health(self.downlink.status, machines, self._secrets())

    def health_warnings(
        self, sync: SyncHealthOut | None, downlink: list[DownlinkHealthOut]
    ) -> list[str]:
        return warnings(sync, downlink)

    def _connector(self, machine: str) -> Connector | None:
        supervisor = self.agent.supervisors.get(machine)
        return None if supervisor is None else supervisor.health.connector

    def _count_failure(self, machine: str) -> None:
        supervisor = self.agent.supervisors.get(machine)
        if supervisor is not None:  # shown with the source on /health
            errors = supervisor.health.errors
            errors["downlink_failed"] = errors.get("downlink_failed", 0) + 1

    async def _on_dispatch(self, dispatch: Dispatch) -> None:
        body = dispatch.model_dump(mode="json")
        changes = await self.agent.writer.call(apply_dispatch, body, time.time_ns())
        for change in changes:
            event(
                logger,
                logging.INFO,
                "order change waits for the operator",
                machine=change.machine,
                order=change.work_order,
                change=change.kind,
            )
        await self.track_once()

    async def track_once(self) -> TrackResult:
        result = await self.agent.writer.call(track, self._policies, time.time_ns())
        self.last_track = result
        for machine, order in result.completed:
            event(logger, logging.INFO, "order completed", machine=machine, order=order)
        for machine, order in result.started:
            event(logger, logging.INFO, "order started", machine=machine, order=order)
        if (result.started or result.completed or result.consumption_records) and self.sync:
            self.sync.wake()
        return result

    async def _every(self, seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        failing = False
        while True:
            try:
                await job()
                if failing:
                    event(logger, logging.INFO, "job recovered", job=name)
                failing = False
            except StoreError as exc:
                if not failing:
                    event(logger, logging.ERROR, "job failed", job=name, reason=str(exc))
                failing = True
            await asyncio.sleep(seconds)

    async def _analytics(self) -> None:
        await self.agent.jobs.run_analytics()
        if self.sync is not None:
            self.sync.wake()

    async def __aenter__(self) -> Self:
        if self.sync is not None:
            await self.sync.__aenter__()
        self._tasks = [
            asyncio.create_task(self._every(self._track_s, self.track_once, "orders")),
            asyncio.create_task(self.downlink.run(), name="downlink"),
        ]
        if self._analytics_s > 0:
            self._tasks.append(
                asyncio.create_task(self._every(self._analytics_s, self._analytics, "analytics"))
            )
        self.agent.services.attach_sync(self)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.agent.services.attach_sync(None)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.sync is not None:
            # best effort within a part of the shutdown budget: the outbox keeps what is not
            # sent, and the agent still has to drain and close DuckDB after this
            budget = self.agent.remaining_s(LAST_PUSH_S)
            with contextlib.suppress(httpx.HTTPError, SyncError, OSError, TimeoutError):
                async with asyncio.timeout(budget):
                    await self.sync.push_once()  # last records of the last analytics run
            await self.sync.__aexit__()
