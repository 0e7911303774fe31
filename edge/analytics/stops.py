"""Gaps between cycle ends → normal and slow cycles, micro-stops and stops.

For a gap ``g`` between two cycle ends ``a < b`` (ideal cycle ``i``):

============================  ============  ===============================================
``g <= i``                    normal        no loss
``i < g <= slow_factor × i``  slow cycle    speed loss ``g - i`` (performance)
``g <= stop_threshold``       micro-stop    loss interval ``[a, b - i)`` (performance, or
                                            availability when configured)
``g > stop_threshold``        stop          stop interval ``[a, b - i)`` (availability)
============================  ============  ===============================================

The last ``i`` of a long gap is the cycle that ended at ``b``: it is run time. The observed span
of the machine bounds the series: from its start to the first cycle end, and from the last cycle
end to its end, a gap longer than the threshold is a stop too (ending at ``first - i``, resp. at
the span end) — a machine that makes nothing for an hour after the shift starts is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.analytics.intervals import I64, Intervals, as_i64

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class GapThresholds:
    """Classification limits in int64 ns."""

    ideal_ns: int
    slow_ns: int
    stop_ns: int

    @classmethod
    def from_seconds(
        cls, ideal_s: float, slow_factor: float, stop_threshold_s: float
    ) -> GapThresholds:
        ideal = round(ideal_s * NS)
        slow = max(round(ideal_s * slow_factor * NS), ideal)
        return cls(ideal, slow, max(round(stop_threshold_s * NS), slow))


@dataclass(frozen=True, slots=True, eq=False)
class GapClasses:
    """What the gaps between cycle ends say.

    ``slow_cum_ns[j]`` is the speed loss of the gaps ending at ``ends[0..j]`` (a gap's loss is 0
    for normal cycles, micro-stops, stops and the first cycle). ``micro`` and ``stops`` are the
    loss intervals.
    """

    ends: I64
    slow_cum_ns: I64
    micro: Intervals
    stops: Intervals


def classify_gaps(ends: I64, span_start: int, span_end: int, limits: GapThresholds) -> GapClasses:
    """Classify every gap between consecutive cycle ends inside ``[span_start, span_end]``."""
    e = as_i64(ends)
    ideal, slow, stop = limits.ideal_ns, limits.slow_ns, limits.stop_ns
    if e.size == 0:
        whole = _boundary_stop(span_start, span_end, stop)
        return GapClasses(e, np.empty(0, np.int64), Intervals.empty(), whole)
    gaps = np.diff(e)
    loss = np.empty(e.size, np.int64)
    loss[0] = 0
    out = loss[1:]
    np.clip(gaps, ideal, slow, out=out)
    out -= ideal
    # Long gaps are rare: classify them by index, not with full-length masks.
    long_ = np.flatnonzero(gaps > slow)
    out[long_] = 0
    np.cumsum(loss, out=loss)
    a, b = e[long_], e[long_ + 1] - ideal
    is_stop = gaps[long_] > stop
    micro = Intervals(a[~is_stop], b[~is_stop])
    stops = Intervals.of(
        np.concatenate((a[is_stop], [span_start, e[-1]])),
        np.concatenate((b[is_stop], _edge_ends(e, span_start, span_end, limits))),
    )
    return GapClasses(e, loss, micro, stops)


def _edge_ends(e: I64, span_start: int, span_end: int, limits: GapThresholds) -> list[int]:
    """Ends of the leading and trailing boundary stops (empty intervals when not stops)."""
    first, last = int(e[0]), int(e[-1])
    lead = first - limits.ideal_ns if first - span_start > limits.stop_ns else span_start
    trail = span_end if span_end - last > limits.stop_ns else last
    return [lead, trail]


def _boundary_stop(span_start: int, span_end: int, stop_ns: int) -> Intervals:
    if span_end - span_start > stop_ns:
        return Intervals(as_i64([span_start]), as_i64([span_end]))
    return Intervals.empty()
