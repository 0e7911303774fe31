"""Cumulative part counters → parts counted per sample (wraps, PLC resets, implausible jumps).

Units: timestamps int64 UTC ns, counter values as read. Counters hold integers; a trace stores
them as float64, exactly (fractions, which a counter never has, are truncated). ``delta[i]`` is
the number of parts the counter says were made in ``(ts[i-1], ts[i]]``; ``delta[0]`` is
measured from the optional :class:`CounterBaseline` (the last sample of the previous chunk),
else 0. Every decision depends only on a sample and the one
before it, so computing chunk by chunk with baselines gives exactly the whole-series result.

Rules, for a negative step ``cur < prev``:

- **rollover** if the counter wrapped: with a known width ``W = 2**bits`` the wrapped step
  ``W - prev + cur`` must be at most the rollover window (``W / 16`` by default: the previous
  value was near the top, the new one near zero); with an unknown width the same test is tried
  at 2**16, then at 2**32;
- otherwise a **reset** (PLC restart, counter preset to zero): counting restarts from zero, so
  the step is ``cur`` (0 if a signed counter went negative).

A step above ``max_rate_per_s × dt × 1.1 + 1`` (10 % clock jitter plus one part of
quantisation) is **implausible**: flagged and not counted (delta 0). The next step is measured
from the implausible value, so a preset to a new value costs at most one interval of parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.analytics.intervals import I64, as_i64

F64 = NDArray[np.float64]

UNKNOWN_WIDTHS = (16, 32)
RATE_TOLERANCE = 1.1
RATE_SLACK_PARTS = 1


@dataclass(frozen=True, slots=True)
class CounterBaseline:
    """The last sample seen of a counter: where the next chunk's first delta is measured from."""

    ts_ns: int
    value: int


@dataclass(frozen=True, slots=True, eq=False)
class CounterDeltas:
    """Parts per sample and the samples (indices) where something unusual was recognised."""

    delta: I64
    multi: I64  # samples that counted more than one part (cycles.py spreads them)
    multi_dt_ns: I64  # time since the previous sample, for each of `multi`
    wraps: I64
    resets: I64
    implausible: I64
    baseline: CounterBaseline | None  # last sample, to pass to the next chunk

    @property
    def total(self) -> int:
        return int(self.delta.sum())


def counter_values(values: NDArray[np.generic]) -> I64:
    """Counter readings as int64 (floats truncated, as the steps are)."""
    out: I64 = values.astype(np.int64, copy=False)
    return out


def counter_deltas(
    ts_ns: NDArray[np.int64],
    values: NDArray[np.generic],
    *,
    width_bits: int | None = None,
    max_rate_per_s: float | None = None,
    baseline: CounterBaseline | None = None,
    rollover_window: int | None = None,
) -> CounterDeltas:
    """Parts counted at each sample of a cumulative counter (see the module doc for the rules)."""
    ts = as_i64(ts_ns)
    v = np.asarray(values).reshape(-1)
    if np.issubdtype(v.dtype, np.integer):
        v = v.astype(np.int64, copy=False)  # unsigned steps would wrap in their own width
    n = v.size
    if n == 0:
        empty = np.empty(0, np.int64)
        return CounterDeltas(empty, empty, empty, empty, empty, empty, baseline)
    delta = np.empty(n, np.int64)
    delta[0] = 0
    # One pass: subtract the raw readings and cast the step to int64 (no int copy of `v`).
    np.subtract(v[1:], v[:-1], out=delta[1:], casting="unsafe")
    first = int(counter_values(v[:1])[0])
    if baseline is not None:
        delta[0] = first - baseline.value
    wraps, resets = _fix_negative(delta, v, baseline, width_bits, rollover_window)
    multi = np.flatnonzero(delta > 1)
    dt = time_since_previous(ts, multi, None if baseline is None else baseline.ts_ns)
    implausible = _drop_implausible(delta, multi, dt, max_rate_per_s)
    if implausible.size:
        keep = delta[multi] > 1
        multi, dt = multi[keep], dt[keep]
    last = CounterBaseline(int(ts[-1]), int(counter_values(v[-1:])[0]))
    return CounterDeltas(delta, multi, dt, wraps, resets, implausible, last)


def time_since_previous(ts: I64, idx: I64, prev_ts_ns: int | None) -> I64:
    """``ts[i] - ts[i-1]`` for each ``i`` in ``idx``; for ``i = 0`` the time since
    ``prev_ts_ns`` (the previous chunk's last sample), or 0 without it."""
    dt: I64 = ts[idx] - ts[np.maximum(idx - 1, 0)]
    if idx.size and idx[0] == 0:
        dt[0] = 0 if prev_ts_ns is None else int(ts[0]) - prev_ts_ns
    return dt


def _previous(v: NDArray[np.generic], idx: I64, baseline: CounterBaseline | None) -> I64:
    """Value before sample ``idx`` (the baseline for sample 0)."""
    prev = counter_values(v[np.maximum(idx - 1, 0)])
    if baseline is not None:
        prev = np.where(idx == 0, baseline.value, prev)
    return prev


def _fix_negative(
    delta: I64,
    v: NDArray[np.generic],
    baseline: CounterBaseline | None,
    width_bits: int | None,
    rollover_window: int | None,
) -> tuple[I64, I64]:
    """Rewrite negative steps in place as rollovers or resets; return their indices."""
    if delta.min() >= 0:
        empty = np.empty(0, np.int64)
        return empty, empty
    neg = np.flatnonzero(delta < 0)
    prev, cur = _previous(v, neg, baseline), counter_values(v[neg])
    step = np.maximum(cur, 0)  # a reset counts from zero
    wrapped = np.zeros(neg.size, dtype=bool)
    widths = UNKNOWN_WIDTHS if width_bits is None else (width_bits,)
    for bits in widths:  # at most two widths, each a vectorised test
        if bits >= 63:
            continue  # an int64 counter never wraps in practice: a drop is a reset
        modulus = 1 << bits
        window = (modulus >> 4) if rollover_window is None else rollover_window
        candidate = modulus - prev + cur
        hit = ~wrapped & (prev < modulus) & (cur >= 0) & (candidate <= window)
        step = np.where(hit, candidate, step)
        wrapped |= hit
    delta[neg] = step
    return neg[wrapped], neg[~wrapped]


def _drop_implausible(delta: I64, multi: I64, dt_ns: I64, max_rate_per_s: float | None) -> I64:
    """Zero steps faster than the machine can go; return their indices.

    Only steps above the one-part slack can be implausible: ``multi`` (steps > 1) are checked,
    ``dt_ns`` being the time each of them took.
    """
    if max_rate_per_s is None or multi.size == 0:
        return np.empty(0, np.int64)
    # delta > floor(rate·dt·tol) + slack  <=>  delta - slack > rate·dt·tol  (delta is an integer)
    allowed = dt_ns * (max_rate_per_s * RATE_TOLERANCE * 1e-9)
    bad: I64 = multi[delta[multi] - RATE_SLACK_PARTS > allowed]
    delta[bad] = 0
    return bad
