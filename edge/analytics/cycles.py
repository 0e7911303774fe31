"""Cycle ends (int64 UTC ns, sorted) from counter deltas or from a ``cycle`` bit.

A sample that counted ``k`` parts since the previous sample at ``t0`` ends ``k`` cycles spread
evenly over ``(t0, t1]``: at ``t1 - back·step`` for ``back = k-1 .. 0`` with
``step = (t1 - t0) // k`` ns (the last one at ``t1``).
The first sample of a series has no ``t0`` unless the caller passes the previous chunk's last
timestamp; its parts then all end at ``t1``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.analytics.intervals import I64, as_i64

BIT_ON = 0.5
DENSE_FRACTION = 8  # one sample in 8 with several parts: expand all ends instead of scattering


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
    if multi is None:
        multi = np.flatnonzero(delta > 1)
    if multi.size == 0:
        return np.repeat(ts, delta)
    if multi.size * DENSE_FRACTION > delta.size:
        return _dense_ends(ts, delta, multi, prev_ts_ns)
    ends = np.repeat(ts, delta)
    k = delta[multi]
    # Index in `ends` of each multi sample's last end: parts up to and including it, minus one.
    # reduceat sums the segments between multi samples without an n-long cumulative sum.
    bounds = np.concatenate((np.zeros(1, np.int64), multi[:-1] + 1))
    last = np.cumsum(np.add.reduceat(delta[: multi[-1] + 1], bounds)) - 1
    _spread(ends, last, k, _steps(ts, delta, multi, prev_ts_ns))
    return ends


def _steps(ts: I64, delta: I64, multi: I64, prev_ts_ns: int | None) -> I64:
    """``(t1 - t0) // k`` of each multi sample."""
    t1 = ts[multi]
    t0 = ts[np.maximum(multi - 1, 0)]
    if multi[0] == 0:
        t0[0] = t1[0] if prev_ts_ns is None else prev_ts_ns
    step: I64 = (t1 - t0) // delta[multi]
    return step


def _dense_ends(ts: I64, delta: I64, multi: I64, prev_ts_ns: int | None) -> I64:
    """All ends in one expansion, for traces where most samples carry several parts.

    ``end = t1 - (last - pos)·step = (t1 - last·step) + pos·step``: two repeats and an arange,
    no scatter. int64 products may wrap for absurd gaps; the sum is still exact modulo 2**64
    and the true result fits, so it is right.
    """
    step = np.zeros(delta.size, np.int64)
    step[multi] = _steps(ts, delta, multi, prev_ts_ns)
    last = np.cumsum(delta)
    last -= 1
    last *= step
    base = ts - last
    ends = np.repeat(base, delta)
    pos_step = np.arange(ends.size, dtype=np.int64)
    pos_step *= np.repeat(step, delta)
    ends += pos_step
    return ends


def _spread(ends: I64, last: I64, k: I64, step: I64) -> None:
    """Move the ``back``-th end before each group's last one back by ``back × step``.

    Groups are taken by equal part count (a radix sort of small integers), so each count is one
    2-d scatter over its groups: one Python step per distinct count, never per sample.
    """
    small = k.astype(np.uint16) if int(k.max()) < 1 << 16 else k  # uint16: radix sort
    order = np.argsort(small, kind="stable")
    sorted_k = k[order]
    cuts = np.concatenate(([0], np.flatnonzero(sorted_k[1:] != sorted_k[:-1]) + 1, [k.size]))
    for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        group = order[a:b]
        back = np.arange(1, int(sorted_k[a]), dtype=np.int64)
        ends[last[group][:, None] - back] -= back * step[group][:, None]


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
