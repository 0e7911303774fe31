"""Pure numpy analytics: counters, cycles, stops, states, shift calendar, OEE. No I/O.

Pipeline for one machine (all times int64 UTC ns)::

    counter_deltas(ts, count)            -> parts per sample (wraps, resets, implausible jumps)
    cycle_ends(ts, delta)                -> cycle end times (several parts per sample spread)
    classify_gaps(ends, lo, hi, limits)  -> slow-cycle loss, micro-stop and stop intervals
    state_intervals(ts, codes, hi)       -> planned stop / setup / down time from `state`
    shift_plan(shifts, tz, start, end)   -> planned and break intervals, shift instances
    window_figures(timeline, windows)    -> per-window times and counts
    analyze_machine(...)                 -> list[WindowReport] (all of the above)
    stop_events(series, params, ...)     -> list[StopEvent] (for operator reasons, `stop` records)

Incremental use: ``counter_deltas(..., baseline=previous.baseline)`` and
``cycle_ends(..., prev_ts_ns=previous.baseline.ts_ns)`` give, chunk by chunk, exactly the
whole-series result.
"""

from __future__ import annotations

from edge.analytics.calendar import BreakSpec, ShiftLike, ShiftPlan, ShiftSpec, shift_plan
from edge.analytics.counters import CounterBaseline, CounterDeltas, counter_deltas
from edge.analytics.cycles import cycle_ends, cycle_times_s, rising_edges
from edge.analytics.events import StopEvent, stop_events
from edge.analytics.intervals import Intervals
from edge.analytics.oee import Timeline, WindowFigures, window_figures
from edge.analytics.report import (
    Losses,
    MachineParams,
    WindowReport,
    analyze_machine,
    build_timeline,
    observed_span,
)
from edge.analytics.states import StateIntervals, state_intervals
from edge.analytics.stops import GapClasses, GapThresholds, classify_gaps
from edge.analytics.windows import Windows, day_windows, hour_windows, shift_windows, windows_by

__all__ = [
    "BreakSpec",
    "CounterBaseline",
    "CounterDeltas",
    "GapClasses",
    "GapThresholds",
    "Intervals",
    "Losses",
    "MachineParams",
    "ShiftLike",
    "ShiftPlan",
    "ShiftSpec",
    "StateIntervals",
    "StopEvent",
    "Timeline",
    "WindowFigures",
    "WindowReport",
    "Windows",
    "analyze_machine",
    "build_timeline",
    "classify_gaps",
    "counter_deltas",
    "cycle_ends",
    "cycle_times_s",
    "day_windows",
    "hour_windows",
    "observed_span",
    "rising_edges",
    "shift_plan",
    "shift_windows",
    "state_intervals",
    "stop_events",
    "window_figures",
    "windows_by",
]
