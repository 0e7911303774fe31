"""Cycle ends (int64 UTC ns, sorted) from counter deltas or from a ``cycle`` bit.

A sample that counted ``k`` parts since the previous sample at ``t0`` ends ``k`` cycles spread
evenly over ``(t0, t1]``: at ``t0 + j·(t1 - t0)/k`` for ``j = 1..k`` (the last one at ``t1``).
The first sample of a series has no ``t0`` unless the caller passes the previous chunk's last
timestamp; its parts then all end at ``t1``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.analytics.intervals import I64, as_i64

BIT_ON = 0.5


SMALL_GROUP = 16  # samples with at most this many parts are spread by a short loop over `back`


def cycle_ends(
    ts_ns: NDArray[np.int64],
    delta: I64,
    *,
    prev_ts_ns: int | None = None,
    multi: I64 | None = None,
) -> I64:
    """Cycle end times for per-sample part counts ``delta`` (see the module doc).

    ``multi`` (indices of samples with more than one part, ``CounterDeltas.multi``) saves a
    pass when the caller already has it.
    """
    ts = as_i64(ts_ns)
    ends = np.repeat(ts, delta)
    if multi is None:
        multi = np.flatnonzero(delta > 1)
    if multi.size == 0:
        return ends
    k = delta[multi]
    # Index in `ends` of each multi sample's last end: parts up to and including it, minus one.
    # reduceat sums the segments between multi samples without an n-long cumulative sum.
    bounds = np.concatenate((np.zeros(1, np.int64), multi[:-1] + 1))
    last = np.cumsum(np.add.reduceat(delta[: multi[-1] + 1], bounds)) - 1
    t1 = ts[multi]
    t0 = ts[np.maximum(multi - 1, 0)]
    if multi[0] == 0:
        t0[0] = t1[0] if prev_ts_ns is None else prev_ts_ns
    span = t1 - t0
    small = k <= SMALL_GROUP
    _spread_small(ends, last[small], k[small], span[small])
    _spread_large(ends, last[~small], k[~small], span[~small])
    return ends


def _spread_small(ends: I64, last: I64, k: I64, span: I64) -> None:
    """Move the ``back``-th end before each group's last one to ``t1 - back·span/k``.

    One vectorised step per value of ``back`` (at most SMALL_GROUP - 1 steps), each over the
    groups still that large.
    """
    active = np.arange(k.size)
    back = 1
    while True:
        active = active[k[active] > back]
        if active.size == 0:
            return
        ends[last[active] - back] -= back * span[active] // k[active]
        back += 1


def _spread_large(ends: I64, last: I64, k: I64, span: I64) -> None:
    """Same as :func:`_spread_small` for rare large groups, fully expanded."""
    if k.size == 0:
        return
    within = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    back = np.repeat(k, k) - 1 - within
    ends[np.repeat(last, k) - back] -= back * np.repeat(span, k) // np.repeat(k, k)


def rising_edges(
    ts_ns: NDArray[np.int64], values: NDArray[np.float64], *, prev_value: float | None = None
) -> I64:
    """Times where a ``cycle`` bit goes from off (<= 0.5) to on: one cycle end each.

    The first sample is an edge only when ``prev_value`` (last value of the previous chunk) was
    off: without it the bit's earlier state is unknown.
    """
    ts = as_i64(ts_ns)
    on = np.asarray(values).reshape(-1) > BIT_ON
    if on.size == 0:
        return np.empty(0, np.int64)
    edge = np.empty(on.size, dtype=bool)
    edge[0] = bool(on[0]) and prev_value is not None and prev_value <= BIT_ON
    np.greater(on[1:], on[:-1], out=edge[1:])
    return ts[edge]


def cycle_times_s(ends: I64) -> NDArray[np.float64]:
    """Seconds between consecutive cycle ends."""
    return np.diff(ends) * 1e-9
