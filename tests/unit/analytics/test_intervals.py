"""Interval set algebra against brute force on small integer timelines."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.analytics.intervals import Intervals

pairs = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=8)


def _set(p: list[tuple[int, int]]) -> Intervals:
    return Intervals.of([a for a, _ in p], [b for _, b in p])


def _points(p: list[tuple[int, int]]) -> set[int]:
    return {x for a, b in p for x in range(a, b)}


def _points_of(x: Intervals) -> set[int]:
    return _points(x.pairs())


@settings(max_examples=200, deadline=None)
@given(a=pairs, b=pairs, lo=st.integers(0, 40), hi=st.integers(0, 40))
def test_set_algebra_matches_brute_force(
    a: list[tuple[int, int]], b: list[tuple[int, int]], lo: int, hi: int
) -> None:
    x, y = _set(a), _set(b)
    pa, pb = _points(a), _points(b)
    assert _points_of(x) == pa
    for s in (x, x.union(y), x.intersect(y), x.minus(y)):  # normalised: sorted, disjoint, gaps
        assert bool(np.all(s.ends > s.starts)) and bool(np.all(s.starts[1:] > s.ends[:-1]))
    assert _points_of(x.union(y)) == pa | pb
    assert _points_of(x.intersect(y)) == pa & pb
    assert _points_of(x.minus(y)) == pa - pb
    assert _points_of(x.complement(lo, hi)) == set(range(lo, hi)) - pa
    assert x.measure_in(np.array([lo]), np.array([max(lo, hi)])).tolist() == [
        len({p for p in pa if lo <= p < hi})
    ]
    t = np.arange(0, 42)
    assert x.contains(t).tolist() == [int(v) in pa for v in t]
    ps, pe = x.split_at(np.array([lo, hi]))
    assert _points(list(zip(ps.tolist(), pe.tolist(), strict=True))) == pa
    assert not any(
        a < c < b for a, b in zip(ps.tolist(), pe.tolist(), strict=True) for c in (lo, hi)
    )
