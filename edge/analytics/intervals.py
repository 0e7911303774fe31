"""Sets of time intervals as sorted numpy arrays, with vectorised set algebra.

An :class:`Intervals` holds disjoint, sorted, non-empty half-open intervals ``[start, end)`` in
int64 UTC nanoseconds. Every operation is a handful of sorts, cumulative sums and
``np.searchsorted`` calls, so the cost grows with the number of intervals (stops, breaks,
shifts), never with a Python loop.

Windows (hours, shifts) are *not* an ``Intervals``: two adjacent windows would merge. They are
two parallel arrays ``starts``/``ends``; :meth:`Intervals.measure_in` and
:meth:`Intervals.split_at` answer per-window questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]

_MIN = np.iinfo(np.int64).min
_MAX = np.iinfo(np.int64).max


def as_i64(values: object) -> I64:
    """``values`` as a 1-d int64 array (no copy when it already is one)."""
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass(frozen=True, slots=True, eq=False)
class Intervals:
    """Disjoint sorted half-open intervals ``[starts[i], ends[i])`` (int64 ns)."""

    starts: I64
    ends: I64

    @classmethod
    def empty(cls) -> Intervals:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64))

    @classmethod
    def of(cls, starts: object, ends: object) -> Intervals:
        """Normalise arbitrary (unsorted, overlapping, possibly empty) intervals: their union."""
        s, e = as_i64(starts), as_i64(ends)
        keep = e > s
        s, e = s[keep], e[keep]
        if s.size == 0:
            return cls.empty()
        # Stable sort is a merge sort: inputs made of a few sorted runs sort in linear time.
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        reach = np.maximum.accumulate(e)
        # A new group starts where an interval begins strictly after everything before it ended.
        new = np.empty(s.size, dtype=bool)
        new[0] = True
        np.greater(s[1:], reach[:-1], out=new[1:])
        first = np.flatnonzero(new)
        last = np.append(first[1:] - 1, s.size - 1)
        return cls(s[first], reach[last])

    def __len__(self) -> int:
        return int(self.starts.size)

    @property
    def total_ns(self) -> int:
        return int((self.ends - self.starts).sum())

    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.starts.tolist(), self.ends.tolist(), strict=True))

    # --- set algebra -------------------------------------------------------------------------
    def union(self, *others: Intervals) -> Intervals:
        sets = (self, *others)
        return Intervals.of(
            np.concatenate([x.starts for x in sets]), np.concatenate([x.ends for x in sets])
        )

    def intersect(self, other: Intervals) -> Intervals:
        """Intersection by boundary membership (no sweep sort): an intersection starts at a start
        of one set lying inside the other, and ends at an end of one set lying inside the other."""
        a, b = self, other
        if len(a) == 0 or len(b) == 0:
            return Intervals.empty()
        starts = np.concatenate(
            (a.starts[b.contains(a.starts)], b.starts[a.contains_open(b.starts)])
        )
        ends = np.concatenate((a.ends[b.contains_end(a.ends)], b.ends[a.contains_open(b.ends)]))
        starts.sort(kind="stable")
        ends.sort(kind="stable")
        return Intervals(starts, ends)

    def complement(self, lo: int = _MIN, hi: int = _MAX) -> Intervals:
        """``[lo, hi)`` minus this set."""
        s = np.concatenate(([lo], self.ends))
        e = np.concatenate((self.starts, [hi]))
        return Intervals.of(np.maximum(s, lo), np.minimum(e, hi))

    def minus(self, other: Intervals) -> Intervals:
        if len(self) == 0 or len(other) == 0:
            return self
        lo, hi = int(self.starts[0]), int(self.ends[-1])
        return self.intersect(other.complement(lo, hi))

    def clip(self, lo: int, hi: int) -> Intervals:
        return self.intersect(Intervals(as_i64([lo]), as_i64([hi])))

    # --- measures ----------------------------------------------------------------------------
    def contains(self, t: I64) -> NDArray[np.bool_]:
        if len(self) == 0:
            return np.zeros(np.shape(t), dtype=bool)
        k = np.searchsorted(self.starts, t, side="right") - 1
        return (k >= 0) & (t < self.ends[np.maximum(k, 0)])

    def contains_open(self, t: I64) -> NDArray[np.bool_]:
        """``start < t < end`` for some interval."""
        if len(self) == 0:
            return np.zeros(np.shape(t), dtype=bool)
        k = np.searchsorted(self.starts, t, side="left") - 1
        return (k >= 0) & (t < self.ends[np.maximum(k, 0)])

    def contains_end(self, t: I64) -> NDArray[np.bool_]:
        """``start < t <= end`` for some interval (``t`` can end a piece of it)."""
        if len(self) == 0:
            return np.zeros(np.shape(t), dtype=bool)
        k = np.searchsorted(self.starts, t, side="left") - 1
        return (k >= 0) & (t <= self.ends[np.maximum(k, 0)])

    def cumulative(self, t: I64, fn: Callable[[I64], I64] | None = None) -> I64:
        """``F(t) = sum over intervals of fn(min(end, t)) - fn(start)`` for those starting < t.

        With ``fn`` the identity this is the measure of ``self ∩ (-inf, t)``; with ``fn`` a
        cumulative count of points it is the number of points lying in ``self`` before ``t``.
        """
        f = (lambda x: x) if fn is None else fn
        t = as_i64(t)
        if len(self) == 0:
            return np.zeros(t.shape, dtype=np.int64)
        per = f(self.ends) - f(self.starts)
        before = np.concatenate(([0], np.cumsum(per)))
        k = np.searchsorted(self.starts, t, side="left")  # intervals starting before t
        last = np.maximum(k - 1, 0)
        partial = f(np.minimum(t, self.ends[last])) - f(self.starts[last])
        full = before[last]  # intervals entirely before the last one that started
        return np.where(k > 0, full + partial, 0)

    def measure_in(self, starts: I64, ends: I64) -> I64:
        """Measure (ns) of this set inside each window ``[starts[i], ends[i])``."""
        return self.cumulative(ends) - self.cumulative(starts)

    def split_at(self, cuts: I64) -> tuple[I64, I64]:
        """The intervals cut at every time in ``cuts`` (sorted), as pieces ``(starts, ends)``."""
        if len(self) == 0 or cuts.size == 0:
            return self.starts, self.ends
        k = np.searchsorted(self.starts, cuts, side="right") - 1
        kk = np.maximum(k, 0)
        inside = (k >= 0) & (cuts > self.starts[kk]) & (cuts < self.ends[kk])
        extra = np.unique(cuts[inside])
        # Both arrays stay sorted: the cuts are inside disjoint sorted intervals.
        return (
            np.sort(np.concatenate((self.starts, extra))),
            np.sort(np.concatenate((self.ends, extra))),
        )
