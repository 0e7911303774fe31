"""OEE over stored samples (runs on the writer thread): windows on demand, shift-end records.

The raw samples of a machine are read back from DuckDB and handed to
:func:`edge.analytics.report.analyze_machine`, so ``/api/v1/machines/{id}/oee`` and the shift-end
``oee`` outbox records say exactly what ``atelier-edge analyze --json`` says on an exported trace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from central.contract import OeeBody
from edge.analytics.calendar import ShiftLike, from_ns, shift_plan
from edge.analytics.report import MachineParams, Series, WindowReport, analyze_machine
from edge.analytics.windows import Windows, windows_by
from edge.runtime.incremental import ANALYSED_SIGNALS
from edge.runtime.incremental import MachineParams as IncrementalParams
from edge.store import Store, read_series

DAY_NS = 24 * 3600 * 1_000_000_000
MARGIN_NS = 10 * 60 * 1_000_000_000  # samples read before a range: the counters' baselines


def margin_ns(params: MachineParams) -> int:
    """How far before a range its samples are read: at least ``MARGIN_NS``, and longer than
    the machine's stop threshold, so a gap over the range's start that is a stop is seen as
    one (a shorter margin would see only part of it)."""
    return max(MARGIN_NS, params.limits.stop_ns + 60 * 1_000_000_000)


@dataclass(frozen=True, slots=True)
class Calendar:
    shifts: tuple[ShiftLike, ...]
    tz: ZoneInfo


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    name: str | None
    start_ns: int
    end_ns: int


def report_params(p: IncrementalParams, micro_in_availability: bool) -> MachineParams:
    return MachineParams(
        ideal_cycle_s=p.ideal_cycle_s,
        slow_factor=p.slow_factor,
        stop_threshold_s=p.stop_threshold_s,
        counter_width_bits=p.width_bits,
        max_rate_per_s=p.max_rate_per_s,
        micro_stops_in_availability=micro_in_availability,
    )


def current_shift(calendar: Calendar, now_ns: int) -> ShiftWindow:
    """The shift instance containing ``now_ns``; without shifts (or between two), the local day."""
    if calendar.shifts:
        plan = shift_plan(calendar.shifts, calendar.tz, now_ns - DAY_NS, now_ns + DAY_NS)
        inside = np.flatnonzero((plan.starts <= now_ns) & (now_ns < plan.ends))
        if inside.size:
            i = int(inside[-1])
            return ShiftWindow(plan.names[i], int(plan.starts[i]), int(plan.ends[i]))
    local = from_ns(now_ns).astimezone(calendar.tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = int(midnight.timestamp()) * 1_000_000_000
    return ShiftWindow(None, start, start + DAY_NS)


def shifts_ended(calendar: Calendar, after_ns: int, upto_ns: int) -> list[ShiftWindow]:
    """Shift instances whose end lies in ``(after_ns, upto_ns]``."""
    if not calendar.shifts or upto_ns <= after_ns:
        return []
    plan = shift_plan(calendar.shifts, calendar.tz, after_ns - DAY_NS, upto_ns + DAY_NS)
    done = np.flatnonzero((plan.ends > after_ns) & (plan.ends <= upto_ns))
    return [
        ShiftWindow(plan.names[i], int(plan.starts[i]), int(plan.ends[i])) for i in done.tolist()
    ]


def machine_series(store: Store, machine: str, start_ns: int, end_ns: int) -> dict[str, Series]:
    """The analysed signals of one machine in ``[start_ns, end_ns)`` (telemetry left out)."""
    where = "machine = ? AND ts_ns >= ? AND ts_ns < ?"
    found = read_series(store.con, where, [machine, start_ns, end_ns], signals=ANALYSED_SIGNALS)
    return found.get(machine, {})


def oee_reports(
    store: Store,
    machine: str,
    params: MachineParams,
    calendar: Calendar,
    *,
    start_ns: int,
    end_ns: int,
    by: str | Windows,
) -> list[WindowReport]:
    """OEE windows of one machine in ``[start_ns, end_ns)`` from its stored samples.

    Samples from :func:`margin_ns` before the start are read too, so the first parts of the range
    are measured from the counter value before it (no part is lost at a window boundary).
    """
    if isinstance(by, str):
        by = windows_by(by, calendar.shifts, calendar.tz, start_ns, end_ns)
    if len(by) == 0:
        return []
    first = min(start_ns, int(by.starts[0])) - margin_ns(params)
    series = machine_series(store, machine, first, end_ns)
    return analyze_machine(machine, series, params, calendar.shifts, calendar.tz, first, end_ns, by)


def record_shift_oee(store: Store, reports: Sequence[WindowReport], shift: ShiftWindow) -> int:
    """The OEE of every machine over an ended shift: ``oee`` rows and outbox records, one
    commit (``reports``: one per machine, from :func:`edge.runtime.slices.period_report`)."""
    with store.transaction() as tx:
        for r in reports:
            body = OeeBody(
                machine=r.machine,
                window_start=r.window_start,
                window_end=r.window_end,
                shift=r.shift,
                planned_s=r.planned_s,
                run_s=r.run_s,
                stop_s=r.stop_s,
                micro_stops=r.micro_stops,
                micro_stop_s=r.micro_stop_s,
                total=r.total,
                good=r.good,
                reject=r.reject,
                availability=r.availability,
                performance=r.performance,
                quality=r.quality,
                oee=r.oee,
            ).model_dump(mode="json")
            tx.outbox("oee", shift.end_ns, body)
            tx.con.execute(
                "INSERT OR REPLACE INTO oee VALUES (?, 'shift', ?, ?, ?, ?)",
                [r.machine, shift.start_ns, shift.end_ns, r.shift, _json(r)],
            )
        tx.set_kv("oee_shift_recorded_ns", shift.end_ns)
    return len(reports)


def store_window(store: Store, report: WindowReport, kind: str, start_ns: int, end_ns: int) -> None:
    """Keep a computed OEE window (hour, order) in the ``oee`` table."""
    with store.transaction() as tx:
        tx.con.execute(
            "INSERT OR REPLACE INTO oee VALUES (?, ?, ?, ?, ?, ?)",
            [report.machine, kind, start_ns, end_ns, report.shift, _json(report)],
        )


def _json(report: WindowReport) -> str:
    return json.dumps(report.to_dict(), default=str)
