"""``atelier-edge run``: connectors → bounded queue → DuckDB, jobs, HTTP API, in one process.

Lifecycle (:class:`Agent` is an async context manager):

- enter: start the writer thread and open the store (an unwritable data dir is reported on
  ``/health`` and retried, the process still samples into its bounded queue), start the ingest
  loop, one supervised task per source, the scheduler, and uvicorn on ``edge.api``;
- exit (SIGTERM, Ctrl-C): stop the sources, commit what is queued, run the analytics one last
  time, stop the jobs and the API, close DuckDB. A restart resumes from the persisted counter
  baselines and analysed ingest id: nothing is counted twice, nothing is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Self

import uvicorn
from fastapi import FastAPI

from central.contract import HelloBody, MachineInfo
from connectors.backoff import Backoff
from connectors.base import Connector
from edge.analytics.report import MachineParams
from edge.api.app import create_app
from edge.config import ConfigError, EdgeConfig, MachineConfig, load_config
from edge.jobs import EdgeJobs
from edge.logs import event, setup_logging
from edge.runtime.analysis import Calendar, report_params
from edge.runtime.incremental import IncrementalAnalytics
from edge.runtime.incremental import MachineParams as IncrementalParams
from edge.runtime.ingest import Ingest
from edge.runtime.metrics import EdgeMetrics, RuntimeSnapshot
from edge.runtime.queue import SampleQueue
from edge.runtime.services import AgentServices
from edge.runtime.supervisor import SourceSupervisor
from edge.store import Store, StoreUnavailable
from edge.writer import StoreWriter

logger = logging.getLogger("edge.agent")
DRAIN_TIMEOUT_S = 10.0
# The whole exit (last push to central, drain, jobs, final analytics, API, DuckDB) shares one
# budget: every step gets what the previous ones left, so a process manager's grace period
# (systemd's 90 s, the demo's 10 s) is not outlasted by timeouts that each looked short.
SHUTDOWN_BUDGET_S = 8.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the agent owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def incremental_params(machine: MachineConfig) -> IncrementalParams:
    signals = machine.source.signals
    total = "count" if "count" in signals else "good" if "good" in signals else "cycle"
    return IncrementalParams(
        id=machine.id,
        ideal_cycle_s=machine.ideal_cycle_s,
        slow_factor=machine.slow_factor,
        stop_threshold_s=machine.stop_threshold_s,
        width_bits=machine.counter_width_bits,
        max_rate_per_s=machine.max_rate_per_s,
        total_signal=total,
    )


def hello_body(config: EdgeConfig) -> dict[str, Any]:
    """Edge and machine inventory for central; recorded when it differs from the last one."""
    return HelloBody(
        software_version=version("atelier") if _installed() else None,
        timezone=config.edge.timezone,
        machines=[
            MachineInfo(
                id=m.id, ideal_cycle_s=m.ideal_cycle_s, protocol=m.source.protocol, name=m.name
            )
            for m in config.machines
        ],
    ).model_dump(mode="json")


def _installed() -> bool:
    try:
        version("atelier")
    except PackageNotFoundError:
        return False
    return True


class Agent:
    """The edge gateway process; ``factories`` default to the configured protocol sources.

    Extension points for the parts built next: ``background`` coroutines run for the agent's
    life (started after the store, cancelled with the sources: a sync loop awaits
    ``agent.writer.call(Store.outbox_pending, ...)``), ``extend_app`` adds routers to the
    HTTP app before it serves (which already holds the JSON API and the tablet pages).
    """

    def __init__(
        self,
        config: EdgeConfig,
        *,
        factories: Mapping[str, Callable[[], Connector]] | None = None,
        store: Store | None = None,
        serve_api: bool = True,
        background: Sequence[Callable[[Agent], Coroutine[Any, Any, None]]] = (),
        extend_app: Callable[[FastAPI, Agent], None] | None = None,
        analytics_interval_s: float = 2.0,
        store_retry_s: float = 1.0,
        restart_cap_s: float = 30.0,
    ) -> None:
        self.config = config
        if factories is None:
            from edge.sources import connector_factories

            factories = connector_factories(config)
        edge = config.edge
        self.queue = SampleQueue(edge.queue_max_samples)
        self.writer = StoreWriter(store or Store(edge.data_dir))
        self.metrics = EdgeMetrics(self._snapshot)
        self.ingest = Ingest(
            self.queue, self.writer, retry_s=store_retry_s, on_commit=self.metrics.on_commit
        )
        self.supervisors = {
            name: SourceSupervisor(
                name, factory, self.queue, backoff=Backoff(base_s=0.5, cap_s=restart_cap_s)
            )
            for name, factory in factories.items()
        }
        inc = {m.id: incremental_params(m) for m in config.machines}
        micro = config.defaults.micro_stops_in_availability
        self.params: dict[str, MachineParams] = {k: report_params(p, micro) for k, p in inc.items()}
        self.calendar = Calendar(tuple(config.shifts), edge.tz)
        self.jobs = EdgeJobs(
            self.writer,
            IncrementalAnalytics(inc),
            self.params,
            self.calendar,
            retention_days=edge.retention_days,
            analytics_interval_s=analytics_interval_s,
            on_analytics=self.metrics.analytics_seconds.observe,
        )
        self.services = AgentServices(
            registry=self.metrics.registry,
            supervisors=self.supervisors,
            queue=self.queue,
            ingest=self.ingest,
            writer=self.writer,
            jobs=self.jobs.state,
            params=self.params,
            calendar=self.calendar,
            data_dir=Path(edge.data_dir),
        )
        self._serve_api = serve_api
        self._background = tuple(background)
        self._extend_app = extend_app
        self._tasks: list[asyncio.Task[None]] = []
        self._source_tasks: list[asyncio.Task[None]] = []
        self._server: _Server | None = None
        self.stopped = asyncio.Event()  # set when a vital task ends (API could not bind, ...)
        self._shutdown_by: float | None = None  # loop time the exit must be done by

    def begin_shutdown(self, budget_s: float = SHUTDOWN_BUDGET_S) -> None:
        """Start the exit's clock (the first call counts): see :meth:`remaining_s`."""
        if self._shutdown_by is None:
            self._shutdown_by = asyncio.get_running_loop().time() + budget_s

    def remaining_s(self, cap_s: float) -> float:
        """What is left of the shutdown budget, at most ``cap_s`` (``cap_s`` before it runs)."""
        if self._shutdown_by is None:
            return cap_s
        return max(0.0, min(cap_s, self._shutdown_by - asyncio.get_running_loop().time()))

    def _snapshot(self) -> RuntimeSnapshot:
        return RuntimeSnapshot(
            sources=self.services.source_statuses(),
            queue_depth=self.queue.depth,
            queue_bound=self.queue.max_samples,
            outbox=self.jobs.state.outbox,
            store_ok=self.ingest.store_error is None,
        )

    async def __aenter__(self) -> Self:
        await self.writer.__aenter__()
        try:
            await self.writer.call(
                Store.record_if_changed, "hello", time.time_ns(), hello_body(self.config), "hello"
            )
        except StoreUnavailable as exc:
            self.ingest.report_unavailable(str(exc))
        self._tasks.append(self._task(self.ingest.run(), "ingest"))
        for name, sup in self.supervisors.items():
            self._source_tasks.append(asyncio.create_task(sup.run(), name=f"source:{name}"))
        self.jobs.start()
        for index, start in enumerate(self._background):  # e.g. the sync loop (outbox → central)
            self._source_tasks.append(asyncio.create_task(start(self), name=f"background:{index}"))
        if self._serve_api:
            try:
                await self._start_api()
            except BaseException:
                await self.__aexit__(None, None, None)  # stop what already runs, then report
                raise
        event(
            logger,
            logging.INFO,
            "edge started",
            edge=self.config.edge.id,
            sources=len(self.supervisors),
            data_dir=str(self.config.edge.data_dir),
        )
        return self

    def _task(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._vital_done)
        return task

    def _vital_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("task %s died", task.get_name(), exc_info=exc)
        self.stopped.set()

    async def _start_api(self) -> None:
        api = self.config.edge.api
        app = create_app(self.services)
        from edge.tablet import edge_tablet_router  # operator pages and actions

        app.include_router(edge_tablet_router(self.config, self.writer, self.services))
        if self._extend_app is not None:
            self._extend_app(app, self)
        config = uvicorn.Config(
            app,
            host=api.host,
            port=api.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = _Server(config)
        task = self._task(self._serve(self._server), "api")
        # uvicorn exposes only a `started` flag, no event to await.
        while not self._server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if task.done():
            raise RuntimeError(f"edge API could not listen on {api.host}:{api.port}")

    async def _serve(self, server: _Server) -> None:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits the process when it cannot bind: not here
            api = self.config.edge.api
            raise RuntimeError(f"edge API could not listen on {api.host}:{api.port}") from exc

    async def __aexit__(self, *exc_info: object) -> None:
        self.begin_shutdown()
        for task in self._source_tasks:
            task.cancel()
        await asyncio.gather(*self._source_tasks, return_exceptions=True)
        # the queued samples first: what is not committed now is lost (or redelivered by MQTT)
        drained = await self.ingest.drain(self.remaining_s(DRAIN_TIMEOUT_S))
        await self.jobs.stop(self.remaining_s(DRAIN_TIMEOUT_S))
        if drained and self.remaining_s(DRAIN_TIMEOUT_S) > 0:
            # counted now or by the next start's first run (baselines persist): nothing lost
            with contextlib.suppress(StoreUnavailable, TimeoutError):
                async with asyncio.timeout(self.remaining_s(DRAIN_TIMEOUT_S)):
                    await self.jobs.run_analytics()
        if self._server is not None:
            self._server.should_exit = True
        for task in self._tasks:
            if task.get_name() != "api":
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.writer.__aexit__()
        event(logger, logging.INFO, "edge stopped", flushed=drained, held_samples=self.queue.depth)


async def serve(config: EdgeConfig) -> int:
    """Run until SIGTERM/SIGINT (or a vital task ends), then shut down cleanly."""
    loop = asyncio.get_running_loop()
    # Writing past a file-size limit must be a write error (reported, retried), not a kill.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    from edge.sync_runtime import EdgeSync  # sync, order tracking, downlink (H-sync)

    async with Agent(config) as agent, EdgeSync(agent):
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(agent.stopped.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        agent.begin_shutdown()
        failed = agent.stopped.is_set() and not stop.is_set()
    return 1 if failed else 0


def run_command(args: argparse.Namespace) -> int:
    setup_logging(json_lines=bool(getattr(args, "log_json", False)))
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            logger.error("config %s: %s", issue.path, issue.message)
        return 2
    try:
        return asyncio.run(serve(config))
    except RuntimeError as exc:
        logger.error("%s", exc)
        return 1
