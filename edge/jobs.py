"""Scheduled work of the edge (APScheduler ``AsyncIOScheduler``): every job awaits the writer.

- ``analytics`` every few seconds: incremental counters → production, stops, states (+ outbox)
- ``shift_oee`` every 5 s: hour-to-date, shift-to-date and active-order OEE per machine
  (cached for ``/api/v1/machines`` and the tablet board, closed hours stored in ``oee``), joined
  from one-minute slices of which only the open ones are analysed again
  (:mod:`edge.runtime.slices`): the board shows the shift's OEE seconds after the first parts,
  and a refresh reads about a minute of samples whatever the hour's or the order's volume
- ``shift_end`` every 30 s: an ``oee`` outbox record for each shift that ended since the last one
- ``retention`` hourly: raw samples older than ``retention_days``; acked outbox rows
- ``outbox_stats`` every 2 s: backlog and lag for ``/health`` and ``/metrics``

Jobs never overlap themselves (``max_instances=1``, ``coalesce``); a failure is logged once and
its recovery once, and the next run simply tries again. Every job awaits the one writer thread
that also commits the samples, so a job whose run took ``d`` seconds skips its turns for the
next ``d * (1 / MAX_WRITER_SHARE - 1)`` seconds: under a load the reports cannot keep up with
(an hour of a counter that moves a thousand times a second), the board refreshes less often
while ingest keeps the writer — nothing waits in the broker for a dashboard.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from edge.analytics.report import MachineParams, WindowReport, join
from edge.analytics.windows import Windows, hour_windows
from edge.logs import event
from edge.runtime.analysis import (
    Calendar,
    ShiftWindow,
    current_shift,
    record_shift_oee,
    shifts_ended,
    store_window,
)
from edge.runtime.incremental import IncrementalAnalytics, LiveMachine
from edge.runtime.slices import (
    CHUNK_SLICES,
    Catchup,
    MachineSlices,
    Slice,
    analyse_chain,
    period_catchup,
    range_catchup,
    slice_bounds,
)
from edge.store import OutboxStats, Store, StoreError, StoreUnavailable
from edge.writer import StoreWriter

logger = logging.getLogger("edge.jobs")
HOUR_NS = 3600 * 1_000_000_000
DAY_NS = 24 * 3600 * 1_000_000_000
MAX_WRITER_SHARE = 0.25  # of the writer thread's time, per job


async def catch_up(
    writer: StoreWriter, run: Catchup, join_between: Sequence[int] = ()
) -> list[Slice]:
    """Drive ``run`` a chunk per writer call (ingest gets the writer between chunks). With
    ``join_between`` (sorted cuts), the final slices are joined into one per stretch between
    cuts as the chain goes, so a long run holds a slice per stretch, not one per minute."""
    compacted = 0
    while (args := run.step()) is not None:
        run.take(await writer.call(analyse_chain, *args))
        finals = run.kept.finals
        if join_between and len(finals) > compacted + 4 * CHUNK_SLICES:
            run.kept.compact(finals[-1].end_ns, join_between)
            compacted = len(run.kept.finals)
    return run.slices


async def window_reports(
    writer: StoreWriter,
    machine: str,
    params: MachineParams,
    calendar: Calendar,
    windows: Windows,
    now_ns: int,
) -> list[WindowReport]:
    """One report per window (with samples), joined from one-minute slices analysed a chunk per
    writer call: however long the range, its raw samples are never all in memory at once (nor
    its minute slices: the final ones are joined per window as the chain goes), and ingest
    keeps the writer between chunks."""
    if not len(windows):
        return []
    cuts = sorted({*windows.starts.tolist(), *windows.ends.tolist()})
    slices = await catch_up(writer, range_catchup(machine, params, calendar, windows, now_ns), cuts)
    starts = [s.start_ns for s in slices]
    out = []
    for start, end in zip(windows.starts.tolist(), windows.ends.tolist(), strict=True):
        mine = slices[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]
        if mine:
            out.append(join([s.report for s in mine], params))
    return out


@dataclass(slots=True)
class JobState:
    """What the jobs computed last; read by the HTTP layer without touching DuckDB."""

    live: dict[str, LiveMachine] = field(default_factory=dict)
    active_orders: dict[str, str | None] = field(default_factory=dict)
    shift_oee: dict[str, WindowReport] = field(default_factory=dict)
    hour_oee: dict[str, WindowReport] = field(default_factory=dict)
    order_oee: dict[str, WindowReport | None] = field(default_factory=dict)
    order_since: dict[str, int | None] = field(default_factory=dict)
    outbox: OutboxStats | None = None
    failing: set[str] = field(default_factory=set)


class EdgeJobs:
    def __init__(
        self,
        writer: StoreWriter,
        analytics: IncrementalAnalytics,
        report_params: dict[str, MachineParams],
        calendar: Calendar,
        *,
        retention_days: int,
        analytics_interval_s: float = 2.0,
        on_analytics: Callable[[float], None] | None = None,
    ) -> None:
        self.state = JobState()
        self._writer = writer
        self._analytics = analytics
        self._params = report_params
        self._calendar = calendar
        self._retention_days = retention_days
        self._interval_s = analytics_interval_s
        self._on_analytics = on_analytics
        self._scheduler: AsyncIOScheduler | None = None
        self._slices: dict[str, MachineSlices] = {}
        self._dirty: dict[str, int] = {}  # machine -> oldest late sample since the refresh
        self._stored_hours: set[tuple[str, int]] = set()  # (machine, hour start) in `oee`
        self._running = 0
        self._idle = asyncio.Condition()
        self._not_before: dict[str, float] = {}  # job -> monotonic time of its next allowed run

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        jobs: list[tuple[Callable[[], Awaitable[None]], float]] = [
            (self.run_analytics, self._interval_s),
            (self.refresh_outbox_stats, 2.0),
            (self.refresh_shift_oee, 5.0),
            (self.record_shift_ends, 30.0),
            (self.apply_retention, 3600.0),
        ]
        now = datetime.now(UTC)
        for job, seconds in jobs:
            scheduler.add_job(
                self._guarded(job),
                "interval",
                seconds=seconds,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                id=job.__name__,
            )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self, timeout_s: float = 10.0) -> None:
        """No new runs; let the running ones finish (a cancelled job would log a traceback)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.pause()
        try:
            async with asyncio.timeout(timeout_s):
                async with self._idle:
                    await self._idle.wait_for(lambda: self._running == 0)
        except TimeoutError:
            event(logger, logging.WARNING, "jobs still running at shutdown", jobs=self._running)
        scheduler.shutdown(wait=False)

    def _guarded(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        name = job.__name__

        async def run() -> None:
            if time.monotonic() < self._not_before.get(name, 0.0):
                return  # the last run was long: leave the writer to ingest for a while
            self._running += 1
            started = time.monotonic()
            try:
                await self._run(name, job)
            finally:
                ended = time.monotonic()
                self._not_before[name] = ended + (ended - started) * (1 / MAX_WRITER_SHARE - 1)
                self._running -= 1
                async with self._idle:
                    self._idle.notify_all()

        run.__name__ = name
        return run

    async def _run(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        try:
            await job()
        except StoreUnavailable:
            return  # the ingest loop reports the store (once) on /health and in the log
        except StoreError as exc:
            self._failed(name, str(exc))
            return
        except Exception as exc:  # a job boundary: log (with the traceback), keep scheduling
            self._failed(name, f"{type(exc).__name__}: {exc}", traceback=True)
            return
        if name in self.state.failing:
            self.state.failing.discard(name)
            event(logger, logging.INFO, "job recovered", job=name)

    def _failed(self, name: str, reason: str, *, traceback: bool = False) -> None:
        if name not in self.state.failing:  # a failure is logged once, its recovery once
            logger.error(
                "job failed", exc_info=traceback, extra={"fields": {"job": name, "reason": reason}}
            )
        self.state.failing.add(name)

    async def run_analytics(self) -> None:
        started = time.perf_counter()
        active = await self._writer.call(Store.active_orders)
        orders = {m: o.work_order for m, o in active.items()}
        self.state.active_orders = orders
        self.state.order_since = {m: o.since_ns for m, o in active.items()}
        # the analytics attribute parts by time from the order history, not from `orders`
        result = await self._writer.call(self._analytics.run, time.time_ns())
        self.state.live = result.live
        for machine, late in result.late_ns.items():  # reopens the slices it can change
            self._dirty[machine] = min(late, self._dirty.get(machine, late))
        if self._on_analytics is not None and result.samples:
            self._on_analytics(time.perf_counter() - started)

    async def refresh_outbox_stats(self) -> None:
        self.state.outbox = await self._writer.call(Store.outbox_stats)

    async def refresh_oee(self) -> None:
        """Hour-to-date, shift-to-date and active-order OEE per machine."""
        await self.refresh_shift_oee()

    async def refresh_shift_oee(self) -> None:
        """Hour-to-date, shift-to-date and active-order OEE per machine, from slices."""
        now = time.time_ns()
        shift = current_shift(self._calendar, now)
        hours = hour_windows(self._calendar.tz, shift.start_ns, now)
        for machine, params in self._params.items():
            order = self.state.active_orders.get(machine)
            since = self.state.order_since.get(machine)
            if order is None or since is None or since >= now:
                order, since = None, None
            slices = await self._slices_of(machine, params, shift, since, now)
            in_shift = [s for s in slices if s.start_ns >= shift.start_ns]
            if in_shift and len(hours):
                self.state.shift_oee[machine] = join([s.report for s in in_shift], params)
                hour = [s for s in in_shift if s.start_ns >= int(hours.starts[-1])]
                if hour:
                    self.state.hour_oee[machine] = join([s.report for s in hour], params)
            mine = [s for s in slices if since is not None and s.start_ns >= since]
            self.state.order_oee[machine] = (
                dataclasses.replace(join([s.report for s in mine], params), shift=order)
                if mine
                else None
            )
            closed = zip(hours.starts.tolist(), hours.ends.tolist(), strict=True)
            await self._store_hours(machine, params, closed, in_shift)

    async def _slices_of(
        self,
        machine: str,
        params: MachineParams,
        shift: ShiftWindow,
        since: int | None,
        now: int,
    ) -> list[Slice]:
        """The machine's slices from the shift's (or the order's, if earlier) start to now:
        the final ones kept, the others analysed (catching up a chunk per writer call)."""
        kept = self._slices.setdefault(machine, MachineSlices(params))
        dirty = self._dirty.pop(machine, None)
        if dirty is not None:
            # a cycle end at `dirty` splits the gap around it: parts of it that stay longer
            # than a stop stay stops, so nothing before `dirty - stop` changes
            dirty -= params.limits.stop_ns
            kept.invalidate(dirty)
            self._stored_hours = {
                (m, h) for m, h in self._stored_hours if m != machine or h + HOUR_NS <= dirty
            }  # an hour is at most HOUR_NS long: the ones ending after `dirty` are reopened
        start = shift.start_ns if since is None else min(shift.start_ns, since)
        cuts = [shift.start_ns] if since is None else [shift.start_ns, since]
        kept.prune(start)
        self._stored_hours = {(m, h) for m, h in self._stored_hours if m != machine or h >= start}
        kept.cut_at(cuts)
        # older than the open hour: a slice per hour (between cuts) is enough to join
        hours = hour_windows(self._calendar.tz, start, now)
        if len(hours):
            kept.compact(int(hours.starts[-1]), [*hours.starts.tolist(), *cuts])
        bounds = slice_bounds(start, now, cuts)
        labels = [shift.name if b >= shift.start_ns else None for b in bounds[:-1]]
        return await catch_up(
            self._writer, Catchup(machine, params, self._calendar, kept, bounds, labels, now)
        )

    async def _store_hours(
        self,
        machine: str,
        params: MachineParams,
        hours: Iterable[tuple[int, int]],
        slices: list[Slice],
    ) -> None:
        """Keep each hour whose slices are all final in the ``oee`` table (again if reopened)."""
        finals = self._slices[machine].finals
        final_end = finals[-1].end_ns if finals else 0
        for start, end in hours:
            if (machine, start) in self._stored_hours or end > final_end:
                continue
            hour = [s for s in slices if start <= s.start_ns < end]
            if hour:
                report = join([s.report for s in hour], params)
                await self._writer.call(store_window, report, "hour", start, end)
            self._stored_hours.add((machine, start))

    async def record_shift_ends(self) -> None:
        now = time.time_ns()
        last = await self._writer.call(_kv, "oee_shift_recorded_ns")
        if last == 0:  # first start: begin from now, no back-filling of history
            await self._writer.call(_set_kv, "oee_shift_recorded_ns", now)
            return
        for shift in shifts_ended(self._calendar, last, now):
            reports = []
            for machine, params in self._params.items():
                run = period_catchup(
                    machine, params, self._calendar, shift.start_ns, shift.end_ns, shift.name, now
                )
                slices = await catch_up(self._writer, run)
                if slices:
                    reports.append(join([s.report for s in slices], params))
            n = await self._writer.call(record_shift_oee, reports, shift)
            event(logger, logging.INFO, "shift oee recorded", shift=shift.name, machines=n)

    async def apply_retention(self) -> None:
        cutoff = time.time_ns() - self._retention_days * DAY_NS
        deleted = await self._writer.call(Store.retention, samples_before_ns=cutoff)
        if any(deleted.values()):
            event(logger, logging.INFO, "retention", **deleted)


def _kv(store: Store, key: str) -> int:
    with store.transaction() as tx:
        return tx.get_kv(key)


def _set_kv(store: Store, key: str, value: int) -> None:
    with store.transaction() as tx:
        tx.set_kv(key, value)
