"""One machine's signals + parameters + shift calendar → OEE reports per window.

``series`` maps canonical signal names to ``(ts_ns int64, values float64)`` sorted by time:
``count`` (cumulative counter) or ``cycle`` (bit), optional ``reject`` or ``good`` (cumulative),
optional ``state`` (canonical codes). Other signals are ignored. The observed span is from the
first to the last sample of those signals: time the edge did not observe is not planned time.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from edge.analytics.calendar import ShiftLike, ShiftSpec, from_ns, shift_plan
from edge.analytics.counters import counter_deltas
from edge.analytics.cycles import cycle_ends as spread_cycle_ends
from edge.analytics.cycles import rising_edges
from edge.analytics.intervals import I64, Intervals, as_i64
from edge.analytics.oee import (
    EVENT_KINDS,
    Timeline,
    WindowFigures,
    empty_timeline,
    ratios,
    slice_figures,
    window_figures,
)
from edge.analytics.states import StateIntervals, state_intervals
from edge.analytics.stops import GapClasses, GapThresholds, classify_gaps
from edge.analytics.windows import Windows, windows_by

Series = tuple[NDArray[np.int64], NDArray[np.float64]]
SPAN_SIGNALS = ("count", "cycle", "state", "reject", "good")
ALL_DAY = ShiftSpec("all day", time(0), time(0))


@dataclass(frozen=True, slots=True)
class MachineParams:
    """What the analytics need to know about a machine (``edge.config.MachineConfig`` has it)."""

    ideal_cycle_s: float
    slow_factor: float = 2.0
    stop_threshold_s: float = 300.0
    counter_width_bits: int | None = None
    max_rate_per_s: float | None = None
    micro_stops_in_availability: bool = False

    @property
    def limits(self) -> GapThresholds:
        return GapThresholds.from_seconds(
            self.ideal_cycle_s, self.slow_factor, self.stop_threshold_s
        )


@dataclass(frozen=True, slots=True)
class Losses:
    """The six big losses, in seconds."""

    breakdowns_s: float
    setup_s: float
    small_stops_s: float
    reduced_speed_s: float
    startup_rejects_s: float  # no start-up window is defined yet: always 0
    production_rejects_s: float


@dataclass(frozen=True, slots=True)
class WindowReport:
    """OEE of one machine over one window. Ratios in 0..1 (not rounded), ``None`` if undefined."""

    machine: str
    window_start: datetime
    window_end: datetime
    shift: str | None
    planned_s: float
    run_s: float
    stop_s: float
    micro_stops: int
    micro_stop_s: float
    slow_s: float
    stops: int
    failures: int
    total: int
    good: int
    reject: int
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    mtbf_s: float | None
    mttr_s: float | None
    losses: Losses

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 UTC, ``None`` kept (``null``)."""
        d = asdict(self)
        d["window_start"] = self.window_start.isoformat().replace("+00:00", "Z")
        d["window_end"] = self.window_end.isoformat().replace("+00:00", "Z")
        return d


def has_samples(series: Mapping[str, Series], name: str) -> bool:
    return name in series and len(series[name][0]) > 0


def observed_span(series: Mapping[str, Series]) -> tuple[int, int] | None:
    """First and last timestamp over the signals that matter, or ``None`` without samples."""
    firsts, lasts = [], []
    for name in SPAN_SIGNALS:
        if has_samples(series, name):
            ts = series[name][0]
            firsts.append(int(ts[0]))
            lasts.append(int(ts[-1]))
    return (min(firsts), max(lasts)) if firsts else None


def machine_cycle_ends(series: Mapping[str, Series], params: MachineParams) -> I64:
    """Cycle ends from ``count`` (preferred) or the rising edges of ``cycle``."""
    if has_samples(series, "count"):
        ts, v = series["count"]
        d = counter_deltas(
            ts, v, width_bits=params.counter_width_bits, max_rate_per_s=params.max_rate_per_s
        )
        return spread_cycle_ends(ts, d.delta, multi=d.multi, multi_dt_ns=d.multi_dt_ns)
    if has_samples(series, "cycle"):
        return rising_edges(*series["cycle"])
    return as_i64([])


def _quality_points(series: Mapping[str, Series], params: MachineParams) -> tuple[I64, I64, bool]:
    """Where the reject (else the good) counter moved, and by how much."""
    name = (
        "reject"
        if has_samples(series, "reject")
        else "good"
        if has_samples(series, "good")
        else None
    )
    if name is None:
        return as_i64([]), as_i64([]), False
    ts, v = series[name]
    d = counter_deltas(ts, v, width_bits=params.counter_width_bits).delta
    nz = np.flatnonzero(d)
    return as_i64(ts)[nz], d[nz], name == "good"


def build_timeline(
    series: Mapping[str, Series],
    params: MachineParams,
    planned: Intervals,
    span: tuple[int, int],
) -> Timeline:
    """Sets and points of one machine over ``span``; ``planned`` is the calendar's planned time."""
    lo, hi = span
    ends = machine_cycle_ends(series, params)
    gaps = classify_gaps(ends, lo, hi, params.limits)
    if not (has_samples(series, "count") or has_samples(series, "cycle")):
        # Nothing counts parts: silence proves nothing, only a state signal can say "stopped".
        gaps = GapClasses(gaps.ends, gaps.slow_cum_ns, Intervals.empty(), Intervals.empty())
    states = StateIntervals.empty()
    if has_samples(series, "state"):
        states = state_intervals(*series["state"], hi)
    planned_here = planned.clip(lo, hi).minus(states.planned_stop)
    rej_ts, rej_n, counts_good = _quality_points(series, params)
    return Timeline(
        planned=planned_here,
        setup=states.setup,
        down=gaps.stops.union(states.down),
        micro=gaps.micro,
        ends=gaps.ends,
        slow_cum_ns=gaps.slow_cum_ns,
        reject_ts=rej_ts,
        reject_n=rej_n,
        counts_good=counts_good,
    )


def analyze_machine(
    machine: str,
    series: Mapping[str, Series],
    params: MachineParams,
    shifts: Sequence[ShiftLike],
    tz: ZoneInfo,
    start_ns: int,
    end_ns: int,
    by: str | Windows = "shift",
    *,
    observed_until_ns: int | None = None,
) -> list[WindowReport]:
    """OEE reports of ``machine`` for every window of ``by`` in ``[start_ns, end_ns)``.

    ``by`` is ``"shift"``, ``"hour"``, ``"day"`` or explicit :class:`Windows` (inside
    ``[start_ns, end_ns)``: the calendar is laid out over that period). Without any shift
    the plant works around the clock: every hour is planned (one "all day" shift).
    ``observed_until_ns`` extends the observed span past the last sample: sources that report by
    exception (MQTT) are silent while nothing changes, yet were watched until then (the end of
    the recording, or now).
    """
    w, timeline = _timeline(
        series, params, shifts, tz, start_ns, end_ns, by, observed_until_ns=observed_until_ns
    )
    figures = window_figures(
        timeline,
        w,
        micro_in_availability=params.micro_stops_in_availability,
        min_stop_overlap_ns=params.limits.slow_ns,
    )
    return reports_from(machine, w, figures, params)


@dataclass(frozen=True, slots=True)
class SliceReport:
    """A window's report with what joining it to its neighbours needs (see :func:`join`):
    per event kind (:data:`EVENT_KINDS`), whether its first counted event began before it
    (``head``) and whether its last one runs on past its end (``tail``)."""

    report: WindowReport
    head: tuple[bool, bool, bool]
    tail: tuple[bool, bool, bool]


@dataclass(frozen=True, slots=True)
class SliceAnalysis:
    slices: list[SliceReport]
    last_cycle_ns: int | None  # the last cycle end seen (at or after the windows, maybe)
    span_end_ns: int | None  # the last sample seen


def analyze_slices(
    machine: str,
    series: Mapping[str, Series],
    params: MachineParams,
    shifts: Sequence[ShiftLike],
    tz: ZoneInfo,
    start_ns: int,
    end_ns: int,
    by: Windows,
) -> SliceAnalysis:
    """:func:`analyze_machine` over consecutive windows, with the event edges that let their
    reports be joined into the report of any run of them (hour, shift, order) by :func:`join`."""
    w, timeline = _timeline(series, params, shifts, tz, start_ns, end_ns, by)
    micro, min_ns = params.micro_stops_in_availability, params.limits.slow_ns
    figures, edges = slice_figures(
        timeline, w, micro_in_availability=micro, min_stop_overlap_ns=min_ns
    )
    reports = reports_from(machine, w, figures, params)
    head: list[tuple[bool, bool, bool]] = [tuple(h) for h in edges.head.T.tolist()]
    tail: list[tuple[bool, bool, bool]] = [tuple(t) for t in edges.tail.T.tolist()]
    span = observed_span(series)
    return SliceAnalysis(
        slices=[SliceReport(r, h, t) for r, h, t in zip(reports, head, tail, strict=True)],
        last_cycle_ns=int(timeline.ends[-1]) if timeline.ends.size else None,
        span_end_ns=None if span is None else span[1],
    )


def _timeline(
    series: Mapping[str, Series],
    params: MachineParams,
    shifts: Sequence[ShiftLike],
    tz: ZoneInfo,
    start_ns: int,
    end_ns: int,
    by: str | Windows,
    *,
    observed_until_ns: int | None = None,
) -> tuple[Windows, Timeline]:
    shifts = shifts or (ALL_DAY,)
    w = by if isinstance(by, Windows) else windows_by(by, shifts, tz, start_ns, end_ns)
    span = observed_span(series)
    if span is not None and observed_until_ns is not None:
        span = (span[0], max(span[1], observed_until_ns))
    if span is None:
        return w, empty_timeline()
    plan = shift_plan(shifts, tz, start_ns, end_ns)
    return w, build_timeline(series, params, plan.planned, span)


def join(slices: Sequence[SliceReport], params: MachineParams) -> WindowReport:
    """One report for consecutive windows: times and counts add up; an event counted on both
    sides of a boundary between two of them is one event."""
    first, last = slices[0].report, slices[-1].report
    summed = {name: sum(getattr(x.report, name) for x in slices) for name in ADDITIVE}
    for prev, cur in itertools.pairwise(slices):
        for k, kind in enumerate(EVENT_KINDS):
            if prev.tail[k] and cur.head[k]:
                summed[kind] -= 1
    r = ratios(
        summed["planned_s"], summed["run_s"], summed["total"], summed["good"], params.ideal_cycle_s
    )
    losses = Losses(
        **{
            f.name: sum(getattr(x.report.losses, f.name) for x in slices)
            for f in dataclasses.fields(Losses)
        }
    )
    failures = summed["failures"]
    return dataclasses.replace(
        first,
        window_end=last.window_end,
        **summed,
        availability=r.availability,
        performance=r.performance,
        quality=r.quality,
        oee=r.oee,
        mtbf_s=summed["run_s"] / failures if failures else None,
        mttr_s=losses.breakdowns_s / failures if failures else None,
        losses=losses,
    )


ADDITIVE = (
    "planned_s",
    "run_s",
    "stop_s",
    "micro_stops",
    "micro_stop_s",
    "slow_s",
    "stops",
    "failures",
    "total",
    "good",
    "reject",
)


def reports_from(
    machine: str, w: Windows, f: WindowFigures, params: MachineParams
) -> list[WindowReport]:
    """One :class:`WindowReport` per window (Python objects: one per window, not per sample)."""
    return [_report(machine, w, f, params, i) for i in range(len(w))]


def _report(
    machine: str, w: Windows, f: WindowFigures, params: MachineParams, i: int
) -> WindowReport:
    ideal = params.ideal_cycle_s
    planned, run, total, good = (
        float(f.planned_s[i]),
        float(f.run_s[i]),
        int(f.total[i]),
        int(f.good[i]),
    )
    micro_s, reject, failures = float(f.micro_stop_s[i]), int(f.reject[i]), int(f.failures[i])
    down_s = float(f.breakdown_s[i])  # unplanned stop time other than setup
    r = ratios(planned, run, total, good, ideal)
    return WindowReport(
        machine=machine,
        window_start=from_ns(int(w.starts[i])),
        window_end=from_ns(int(w.ends[i])),
        shift=w.labels[i],
        planned_s=planned,
        run_s=run,
        stop_s=float(f.stop_s[i]),
        micro_stops=int(f.micro_stops[i]),
        micro_stop_s=micro_s,
        slow_s=float(f.slow_s[i]),
        stops=int(f.stops[i]),
        failures=failures,
        total=total,
        good=good,
        reject=reject,
        availability=r.availability,
        performance=r.performance,
        quality=r.quality,
        oee=r.oee,
        mtbf_s=run / failures if failures else None,
        mttr_s=down_s / failures if failures else None,
        losses=Losses(
            # Micro-stops counted against availability are still small stops, not breakdowns.
            breakdowns_s=down_s - (micro_s if params.micro_stops_in_availability else 0.0),
            setup_s=float(f.setup_s[i]),
            small_stops_s=micro_s,
            reduced_speed_s=float(f.slow_s[i]),
            startup_rejects_s=0.0,
            production_rejects_s=reject * ideal,
        ),
    )
