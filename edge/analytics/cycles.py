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

from edge.analytics.counters import time_since_previous
from edge.analytics.intervals import I64, as_i64

BIT_ON = 0.5
DENSE_FRACTION = 8  # one sample in 8 with several parts: expand all ends instead of scattering


def cycle_ends(
    ts_ns: NDArray[np.int64],
    delta: I64,
    *,
    prev_ts_ns: int | None = None,
    multi: I64 | None = None,
    multi_dt_ns: I64 | None = None,
) -> I64:
    """Cycle end times for per-sample part counts ``delta`` (see the module doc).

    ``multi`` and ``multi_dt_ns`` (samples with more than one part and the time each took:
    ``CounterDeltas.multi``, ``.multi_dt_ns``) save passes when the caller already has them.
    """
    ts = as_i64(ts_ns)
    if multi is None or multi_dt_ns is None:
        multi = np.flatnonzero(delta > 1)
        multi_dt_ns = time_since_previous(ts, multi, prev_ts_ns)
    if multi.size == 0:
        return np.repeat(ts, delta)
    step = _steps(multi_dt_ns, delta[multi])
    if multi.size * DENSE_FRACTION > delta.size:
        return _dense_ends(ts, delta, multi, step)
    ends = np.repeat(ts, delta)
    k = delta[multi]
    # Index in `ends` of each multi sample's last end: parts up to and including it, minus one.
    # reduceat sums the segments between multi samples without an n-long cumulative sum.
    bounds = np.concatenate((np.zeros(1, np.int64), multi[:-1] + 1))
    last = np.cumsum(np.add.reduceat(delta[: multi[-1] + 1], bounds)) - 1
    _spread(ends, last, k, step)
    return ends


def _steps(dt_ns: I64, k: I64) -> I64:
    """``dt // k``: through float64 when exact (intervals under 2**52 ns, 52 days: the quotient
    is then never rounded up to the next integer), which is several times faster."""
    if int(dt_ns.max()) < 1 << 52 and int(dt_ns.min()) >= 0:
        quotient = dt_ns / k
        return quotient.astype(np.int64)
    step: I64 = dt_ns // k
    return step


def _dense_ends(ts: I64, delta: I64, multi: I64, multi_step: I64) -> I64:
    """All ends in one expansion, for traces where most samples carry several parts.

    With ``G`` = ``repeat(step, delta)`` and ``C`` its running sum, the ends of a sample are
    ``t1 - back·step = t1 - (C[last] - C[p])``, and ``C[last]`` of each sample is the running
    sum of ``delta·step``: two repeats and an in-place running sum, no scatter, no index array.
    """
    step = np.zeros(delta.size, np.int64)
    step[multi] = multi_step
    upto = delta * step
    np.cumsum(upto, out=upto)
    ends = np.repeat(ts - upto, delta)
    run = np.repeat(step, delta)
    np.cumsum(run, out=run)
    ends += run
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
