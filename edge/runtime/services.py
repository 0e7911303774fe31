"""The running edge as the HTTP layer sees it (:class:`edge.api.deps.EdgeServices`).

Health and machine views are assembled from in-memory state (supervisors, ingest loop, job
results); only counts and OEE windows are read from DuckDB, through the writer thread.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from prometheus_client import CollectorRegistry

from connectors.base import ConnectionState, SourceStatus
from edge.analytics.calendar import to_ns
from edge.analytics.report import MachineParams
from edge.analytics.windows import windows_by
from edge.api.deps import (
    DownlinkHealthOut,
    HealthReport,
    MachineOut,
    SourceHealthOut,
    SyncHealthOut,
)
from edge.jobs import JobState, window_reports
from edge.runtime.analysis import Calendar, current_shift
from edge.runtime.ingest import Ingest
from edge.runtime.queue import SampleQueue
from edge.runtime.supervisor import SourceSupervisor
from edge.store import Counts, OutboxStats, Store, StoreError
from edge.writer import StoreWriter

MIN_FREE_BYTES = 200 * 1024 * 1024


def _at(ts_ns: int | None) -> datetime | None:
    return None if ts_ns is None else datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_report(data_dir: Path, db_path: Path) -> tuple[dict[str, Any], str | None]:
    usage = shutil.disk_usage(_existing(data_dir))
    files = [db_path, db_path.with_name(db_path.name + ".wal")]
    size = sum(f.stat().st_size for f in files if f.exists())
    report = {
        "path": str(data_dir),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "used_pct": round(100.0 * (usage.total - usage.free) / usage.total, 1),
        "db_bytes": size,
    }
    problem = None
    if usage.free < MIN_FREE_BYTES:
        problem = f"disk: only {usage.free // (1024 * 1024)} MiB free under {data_dir}"
    return report, problem


def _outbox_report(ob: OutboxStats | None, now: int) -> dict[str, Any]:
    if ob is None:
        return {}
    lag = None if ob.oldest_pending_ns is None else (now - ob.oldest_pending_ns) / 1e9
    return {
        "backlog": ob.backlog,
        "last_seq": ob.last_seq,
        "acked_through": ob.acked_through,
        "oldest_pending_age_s": lag,
    }


class SyncView(Protocol):
    """The sync/downlink side of ``/health`` (:class:`edge.sync_runtime.EdgeSync`)."""

    def sync_health(self, now_ns: int, outbox: OutboxStats | None) -> SyncHealthOut | None: ...

    def downlink_health(self) -> list[DownlinkHealthOut]: ...

    def health_warnings(
        self, sync: SyncHealthOut | None, downlink: list[DownlinkHealthOut]
    ) -> list[str]: ...


class AgentServices:
    """Implements ``EdgeServices`` over the agent's collaborators."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        supervisors: Mapping[str, SourceSupervisor],
        queue: SampleQueue,
        ingest: Ingest,
        writer: StoreWriter,
        jobs: JobState,
        params: Mapping[str, MachineParams],
        calendar: Calendar,
        data_dir: Path,
    ) -> None:
        self._registry = registry
        self._supervisors = supervisors
        self._queue = queue
        self._ingest = ingest
        self._writer = writer
        self._jobs = jobs
        self._params = params
        self._calendar = calendar
        self._data_dir = data_dir
        self._sync: SyncView | None = None

    def attach_sync(self, view: SyncView | None) -> None:
        """Show sync and downlink on ``/health`` (None detaches, when sync stops)."""
        self._sync = view

    @property
    def registry(self) -> CollectorRegistry:
        return self._registry

    def machine_ids(self) -> list[str]:
        return list(self._params)

    def source_statuses(self) -> tuple[SourceStatus, ...]:
        return tuple(s.health.status() for s in self._supervisors.values())

    async def health(self) -> HealthReport:
        now = time.time_ns()
        reasons: list[str] = []
        sources = self._sources(now, reasons)
        store_error = self._ingest.store_error
        if store_error is not None:
            reasons.append(f"store: {store_error}")
        disk, disk_problem = disk_report(self._data_dir, self._writer.store.path)
        if disk_problem is not None:
            reasons.append(disk_problem)
        ob = self._jobs.outbox
        sync, downlink, warnings = None, [], []
        if self._sync is not None:  # reported, but never a reason for a 503 (sync_health.py)
            sync = self._sync.sync_health(now, ob)
            downlink = self._sync.downlink_health()
            warnings = self._sync.health_warnings(sync, downlink)
        return HealthReport(
            status="degraded" if reasons else "ok",
            reasons=reasons,
            sources=sources,
            store={
                "path": str(self._writer.store.path),
                "writable": store_error is None,
                "error": store_error,
                "committed_samples": self._ingest.committed_samples,
            },
            outbox=_outbox_report(ob, now),
            queue={"depth": self._queue.depth, "bound": self._queue.max_samples},
            disk=disk,
            sync=sync,
            downlink=downlink,
            warnings=warnings,
        )

    def _sources(self, now: int, reasons: list[str]) -> list[SourceHealthOut]:
        sources = []
        for st in self.source_statuses():
            if st.state is not ConnectionState.connected:
                why = f" ({st.last_error})" if st.last_error else ""
                reasons.append(f"source {st.name}: {st.state.value}{why}")
            age = None if st.last_sample_ns is None else max(0.0, (now - st.last_sample_ns) / 1e9)
            sources.append(
                SourceHealthOut(
                    name=st.name,
                    state=st.state.value,
                    last_sample_age_s=age,
                    last_error=st.last_error,
                    samples=st.samples,
                    errors=dict(st.errors),
                )
            )
        return sources

    async def machines(self) -> list[MachineOut]:
        now = time.time_ns()
        shift = current_shift(self._calendar, now)
        try:
            counts = await self._writer.call(
                Store.production_counts, from_ns=shift.start_ns, to_ns=now
            )
        except StoreError:
            counts = {}  # the store's problem is on /health; show the live part anyway
        return [self._machine(m, counts.get(m), shift.start_ns, shift.name) for m in self._params]

    def _machine(
        self, machine: str, counts: Counts | None, shift_start: int, shift: str | None
    ) -> MachineOut:
        live = self._jobs.live.get(machine)
        sup = self._supervisors.get(machine)
        last = sup.health.last_sample_ns if sup is not None else None
        oee = self._jobs.shift_oee.get(machine)
        if oee is not None and to_ns(oee.window_start) != shift_start:
            oee = None  # a report of the previous shift
        c = counts or Counts(0, 0, 0)
        return MachineOut(
            id=machine,
            state=live.state.name if live is not None and live.state is not None else "unknown",
            state_since=_at(live.state_since_ns if live is not None else None),
            active_order=self._jobs.active_orders.get(machine),
            total=c.total,
            good=c.good,
            reject=c.reject,
            last_sample_at=_at(last),
            shift=shift,
            shift_start=_at(shift_start),
            availability=oee.availability if oee else None,
            performance=oee.performance if oee else None,
            quality=oee.quality if oee else None,
            oee=oee.oee if oee else None,
        )

    async def oee(
        self, machine: str, *, start: datetime, end: datetime, by: Literal["shift", "hour"]
    ) -> list[dict[str, Any]]:
        reports = await window_reports(
            self._writer,
            machine,
            self._params[machine],
            self._calendar,
            windows_by(by, self._calendar.shifts, self._calendar.tz, to_ns(start), to_ns(end)),
            time.time_ns(),
        )
        return [r.to_dict() for r in reports]
