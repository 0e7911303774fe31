"""OEE per window from a machine timeline (ISO 22400 / Nakajima time model).

Sets (all int64 ns, see :class:`Timeline`):

- ``P`` planned time = shift time − breaks − planned stops, inside the observed span;
- ``U`` unplanned stop time = (setup ∪ down ∪ inferred stops) ∩ P — a stop spanning a break
  counts only outside the break; with ``micro_stops_in_availability`` micro-stops join ``U``;
- run time = P − U; micro-stop time = micro-stop loss intervals ∩ P − (other stops).

Per window: ``planned_s = |P ∩ w|``, ``stop_s = |U ∩ w|``, ``run_s = planned_s − stop_s``;
``total`` = cycle ends in ``w`` (all of them, planned or not); ``reject`` from the reject counter
(or ``total − good`` from a good counter), clipped to ``[0, total]``; ``slow_s`` = speed loss of
cycles ending in run time. A = run/planned, P = ideal×total/run, Q = good/total,
OEE = good×ideal/planned (= A×P×Q). A ratio whose denominator is zero is ``None``; a window
without planned time has only ``None`` ratios. Event counts (stops, failures, micro-stops) count
the pieces, cut at window bounds, that overlap the relevant time (stops: by at least a slow
cycle, see :func:`window_figures`). MTBF = run / failures,
MTTR = breakdown time / failures. Windows are half-open ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.analytics.intervals import I64, Intervals, as_i64
from edge.analytics.windows import Windows

F64 = NDArray[np.float64]
NS = 1e9


@dataclass(frozen=True, slots=True, eq=False)
class Timeline:
    """One machine over its observed span."""

    planned: Intervals  # shift time − breaks − planned stops, within the observed span
    setup: Intervals  # setup time from the state signal (raw, not yet ∩ planned)
    down: Intervals  # inferred stops ∪ fault/stopped/idle/offline states (raw)
    micro: Intervals  # micro-stop loss intervals (raw)
    ends: I64  # cycle ends
    slow_cum_ns: I64  # speed loss of the gaps ending at ends[0..j] (cumulative)
    reject_ts: I64  # samples where the reject (or good) counter moved
    reject_n: I64
    counts_good: bool = False  # True: reject_* are good-counter deltas


@dataclass(frozen=True, slots=True, eq=False)
class WindowFigures:
    """Per-window figures as parallel arrays (seconds as float64, counts as int64)."""

    planned_s: F64
    run_s: F64
    stop_s: F64
    setup_s: F64
    breakdown_s: F64
    micro_stop_s: F64
    slow_s: F64
    micro_stops: I64
    stops: I64
    failures: I64
    total: I64
    good: I64
    reject: I64


def point_counter(ts: I64, cum_weights: I64 | None = None) -> Callable[[I64], I64]:
    """``f(t)`` = number (or total weight) of the points strictly before ``t``.

    ``ts`` sorted; ``cum_weights[j]`` = weight of points ``0..j`` (cumulative), default 1 each.
    """

    def f(t: I64) -> I64:
        k = np.searchsorted(ts, t, side="left")
        if ts.size == 0:
            return np.zeros(k.shape, np.int64)
        if cum_weights is None:
            return k.astype(np.int64)
        return np.where(k > 0, cum_weights[np.maximum(k - 1, 0)], 0)

    return f


def count_events(raw: Intervals, within: Intervals, w: Windows, min_overlap_ns: int = 1) -> I64:
    """Per window, the pieces of ``raw`` (cut at window bounds) starting in it and overlapping
    ``within`` for at least ``min_overlap_ns``."""
    if len(raw) == 0 or len(w) == 0:
        return np.zeros(len(w), np.int64)
    cuts = np.unique(np.concatenate((w.starts, w.ends)))
    ps, pe = raw.split_at(cuts)
    starts = ps[within.measure_in(ps, pe) >= min_overlap_ns]
    return np.searchsorted(starts, w.ends, "left") - np.searchsorted(starts, w.starts, "left")


@dataclass(frozen=True, slots=True, eq=False)
class _EventSets:
    """The sets of a timeline that window figures measure and count."""

    planned: Intervals
    setup: Intervals
    micro: Intervals  # micro-stop time inside planned time, not already setup or a stop
    unplanned: Intervals
    failures_raw: Intervals
    stops_raw: Intervals
    run: Intervals


def _event_sets(tl: Timeline, micro_in_availability: bool) -> _EventSets:
    p = tl.planned
    setup = tl.setup.intersect(p)
    down_raw = tl.down.minus(tl.setup)
    other = setup.union(down_raw.intersect(p))
    micro = tl.micro.intersect(p).minus(other)
    unplanned = other.union(micro) if micro_in_availability else other
    failures_raw = down_raw.union(tl.micro).minus(tl.setup) if micro_in_availability else down_raw
    return _EventSets(
        planned=p,
        setup=setup,
        micro=micro,
        unplanned=unplanned,
        failures_raw=failures_raw,
        stops_raw=failures_raw.union(tl.setup),
        run=p.minus(unplanned),
    )


def window_figures(
    tl: Timeline, w: Windows, *, micro_in_availability: bool, min_stop_overlap_ns: int = 1
) -> WindowFigures:
    """Times and counts of ``tl`` in every window of ``w``.

    A stop counts as an event in a window only when at least ``min_stop_overlap_ns`` of it is
    planned time there: a machine halted over a break shows a sliver of "stop" on each side of
    it (parts spread over a poll interval), which is not a failure.
    """
    return _figures(tl, _event_sets(tl, micro_in_availability), w, min_stop_overlap_ns)


def _figures(tl: Timeline, x: _EventSets, w: Windows, min_stop_overlap_ns: int) -> WindowFigures:
    p, run = x.planned, x.run

    def secs(i: Intervals) -> F64:
        return i.measure_in(w.starts, w.ends) / NS

    planned_s, stop_s, setup_s = secs(p), secs(x.unplanned), secs(x.setup)
    cycles = point_counter(tl.ends)
    total = cycles(w.ends) - cycles(w.starts)
    slow = point_counter(tl.ends, tl.slow_cum_ns)
    slow_s = (run.cumulative(w.ends, slow) - run.cumulative(w.starts, slow)) / NS
    moved = point_counter(tl.reject_ts, np.cumsum(tl.reject_n))
    n = moved(w.ends) - moved(w.starts)
    reject = np.clip(total - n if tl.counts_good else n, 0, total)
    return WindowFigures(
        planned_s=planned_s,
        run_s=planned_s - stop_s,
        stop_s=stop_s,
        setup_s=setup_s,
        breakdown_s=stop_s - setup_s,
        micro_stop_s=secs(x.micro),
        slow_s=slow_s,
        micro_stops=count_events(tl.micro, x.micro, w),
        stops=count_events(x.stops_raw, p, w, min_stop_overlap_ns),
        failures=count_events(x.failures_raw, p, w, min_stop_overlap_ns),
        total=total,
        good=total - reject,
        reject=reject,
    )


EVENT_KINDS = ("micro_stops", "stops", "failures")


@dataclass(frozen=True, slots=True, eq=False)
class EventEdges:
    """Per event kind (:data:`EVENT_KINDS`, rows) and window (columns): ``head`` where the
    window's first counted event began before the window, ``tail`` where its last counted
    event runs on past the window's end. An event counted in two consecutive windows has a
    ``tail`` in the first and a ``head`` in the second: it is one event of their union."""

    head: NDArray[np.bool_]
    tail: NDArray[np.bool_]


def _edges(
    raw: Intervals, within: Intervals, w: Windows, min_overlap_ns: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``count_events``' pieces that continue across a window's start (head) or end (tail)."""
    n = len(w)
    if len(raw) == 0 or n == 0:
        return np.zeros(n, bool), np.zeros(n, bool)
    # the raw interval covering each bound from both sides: starts before it, ends after it
    k_s = np.searchsorted(raw.starts, w.starts, side="left") - 1
    k_e = np.searchsorted(raw.starts, w.ends, side="left") - 1
    ks, ke = np.maximum(k_s, 0), np.maximum(k_e, 0)
    across_s = (k_s >= 0) & (raw.ends[ks] > w.starts)
    across_e = (k_e >= 0) & (raw.ends[ke] > w.ends)
    # the piece inside the window next to that bound, as count_events cuts it
    head_end = np.minimum(raw.ends[ks], w.ends)
    tail_start = np.maximum(raw.starts[ke], w.starts)
    head = (
        across_s & (w.ends > w.starts) & (within.measure_in(w.starts, head_end) >= min_overlap_ns)
    )
    tail = (
        across_e & (w.ends > w.starts) & (within.measure_in(tail_start, w.ends) >= min_overlap_ns)
    )
    return head, tail


def slice_figures(
    tl: Timeline, w: Windows, *, micro_in_availability: bool, min_stop_overlap_ns: int = 1
) -> tuple[WindowFigures, EventEdges]:
    """:func:`window_figures`, and which counted events of each window continue from the one
    before or into the next (the sets of the timeline built once for both)."""
    x = _event_sets(tl, micro_in_availability)
    pairs = (
        _edges(tl.micro, x.micro, w, 1),
        _edges(x.stops_raw, x.planned, w, min_stop_overlap_ns),
        _edges(x.failures_raw, x.planned, w, min_stop_overlap_ns),
    )
    edges = EventEdges(
        head=np.stack([h for h, _ in pairs]).reshape(3, len(w)),
        tail=np.stack([t for _, t in pairs]).reshape(3, len(w)),
    )
    return _figures(tl, x, w, min_stop_overlap_ns), edges


@dataclass(frozen=True, slots=True)
class Ratios:
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


def ratios(planned_s: float, run_s: float, total: int, good: int, ideal_s: float) -> Ratios:
    """A, P, Q, OEE of one window; ``None`` where a denominator is zero."""
    if planned_s <= 0:
        return Ratios(None, None, None, None)
    return Ratios(
        availability=run_s / planned_s,
        performance=ideal_s * total / run_s if run_s > 0 else None,
        quality=good / total if total > 0 else None,
        oee=good * ideal_s / planned_s,
    )


def empty_timeline() -> Timeline:
    e = Intervals.empty()
    z = as_i64([])
    return Timeline(e, e, e, e, z, z, z, z)
