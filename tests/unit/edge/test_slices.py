"""Live OEE from one-minute slices equals the analysis of the whole period, on a real DuckDB.

Random machines (a counter with runs, slow cycles, micro-stops and long stops, a reject
counter, a state signal with setup and fault), stored, then analysed two ways: the whole
period from every sample (``oee_reports``, a margin of raw samples before it), and the slices
of :mod:`edge.runtime.slices` — in one call, or in chunks that each start from the compressed
context of the margin — joined. Every figure must agree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.analytics.report import ADDITIVE, MachineParams, WindowReport, join
from edge.analytics.windows import Windows
from edge.runtime.analysis import Calendar, oee_reports
from edge.runtime.slices import (
    LATE_NS,
    MachineSlices,
    Slice,
    analyse_chain,
    context,
    slice_bounds,
)
from edge.store import Store
from tests.unit.edge.conftest import sample_columns

NS = 1_000_000_000
MIN = 60 * NS
T0 = 1_767_600_000 * NS - (1_767_600_000 * NS) % (60 * MIN)  # an hour boundary
PARAMS = MachineParams(ideal_cycle_s=2.0, stop_threshold_s=60.0)
CAL = Calendar((), ZoneInfo("UTC"))
STOP_NS = PARAMS.limits.stop_ns + LATE_NS + 1  # a slice silent that long after it is decided
RUNNING, STOPPED, FAULT, SETUP, PLANNED = 1.0, 3.0, 4.0, 5.0, 6.0  # MachineState codes


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    s.open()
    yield s
    s.close()


def _append(store: Store, rows: list[tuple[int, str, float]]) -> None:
    store.append_samples(
        sample_columns(
            [t for t, _, _ in rows],
            ["m"] * len(rows),
            [s for _, s, _ in rows],
            [v for _, _, v in rows],
        )
    )


def _machine(seed: int, start: int, end: int) -> list[tuple[int, str, float]]:
    """Polled every second: count and reject every poll; the state on every change only."""
    rng = random.Random(seed)
    rows: list[tuple[int, str, float]] = []
    count, reject, t, next_part = 0, 0, start, start
    state = None
    while t < end:
        if t >= next_part:
            count += 1 if rng.random() < 0.9 else 2
            if rng.random() < 0.05:
                reject += 1
            kind = rng.random()
            gap = (
                rng.uniform(2, 3.5)  # at speed
                if kind < 0.85
                else rng.uniform(5, 40)  # slow, micro-stop
                if kind < 0.98
                else rng.uniform(70, 400)  # a stop (threshold 60 s)
            )
            next_part = t + int(gap * NS)
        if rng.random() < 0.001 or state is None:
            new = rng.choice((RUNNING, RUNNING, RUNNING, SETUP, FAULT, STOPPED, PLANNED))
            if new != state:
                rows.append((t, "state", new))
                state = new
        rows.append((t, "count", float(count)))
        rows.append((t, "reject", float(reject)))
        t += NS
    return rows


def _whole(store: Store, start: int, end: int) -> WindowReport:
    [report] = oee_reports(
        store, "m", PARAMS, CAL, start_ns=start, end_ns=end, by=Windows.of([start], [end])
    )
    return report


def _sliced(
    store: Store, start: int, end: int, chunk: int
) -> tuple[WindowReport, int, MachineSlices]:
    """Slices of ``[start, end)`` analysed ``chunk`` at a time, each chunk reading only up to
    its own end (so every chunk after the first starts from context and carry)."""
    bounds = slice_bounds(start, end, [])
    kept = MachineSlices(PARAMS)
    i, calls = 0, 0
    while i < len(bounds) - 1:
        j = min(i + chunk, len(bounds) - 1)
        carry = kept.finals[-1].carry if kept.finals else {}
        part = bounds[i : j + 1]
        upto = min(end, part[-1] + 2 * MIN)  # as the job: samples after a chunk decide it
        result = analyse_chain(store, "m", PARAMS, CAL, part, [None] * (j - i), carry, upto)
        calls += 1
        kept.finals.extend(result.slices)  # all of them: nothing comes after `end` here
        i = j
    return join([s.report for s in kept.finals], PARAMS), calls, kept


def _same(a: WindowReport, b: WindowReport) -> None:
    for name in (*ADDITIVE, "availability", "performance", "quality", "oee", "mtbf_s"):
        x, y = getattr(a, name), getattr(b, name)
        assert x == pytest.approx(y, abs=1e-6), f"{name}: {x} != {y}"
    assert (a.window_start, a.window_end) == (b.window_start, b.window_end)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_joined_slices_equal_the_whole_period(store: Store, seed: int, chunk: int) -> None:
    _append(store, _machine(seed, T0 - 15 * MIN, T0 + 50 * MIN))
    start, end = T0 + 3 * MIN + 17 * NS, T0 + 41 * MIN + 5 * NS  # not on minute marks
    whole = _whole(store, start, end)
    assert whole.total > 100 and whole.stops > 0 and whole.micro_stops > 0  # a real mix
    joined, calls, kept = _sliced(store, start, end, chunk)
    assert calls == -(-39 // chunk)  # 39 slices: the chunks did start from context
    _same(joined, whole)
    # compacted into stretches of ten minutes (the job keeps a slice an hour), still the same
    bounds = slice_bounds(start, end, [])
    kept.compact(end, [T0 + k * 10 * MIN for k in range(5)])
    assert len(kept.finals) == 5
    _same(join([s.report for s in kept.finals], PARAMS), whole)
    assert kept.settle(bounds) == len(bounds) - 1  # they still line up with the minute bounds
    assert len(kept.finals) == 5


def test_a_state_older_than_the_margin_is_carried(store: Store) -> None:
    """A setup reported once (by exception) 25 minutes ago is still setup time: the slices
    carry it from one to the next, where a margin of raw samples has lost it."""
    rows = [(T0, "state", SETUP)]
    rows += [(T0 + k * NS, "count", 7.0) for k in range(0, 45 * 60)]  # no part: setting up
    _append(store, rows)
    kept = MachineSlices(PARAMS)
    bounds = slice_bounds(T0, T0 + 40 * MIN, [])
    for i in range(len(bounds) - 1):  # one call per slice, as the job does in real time
        carry = kept.finals[-1].carry if kept.finals else {}
        result = analyse_chain(
            store, "m", PARAMS, CAL, bounds[i : i + 2], [None], carry, bounds[i + 1] + STOP_NS
        )
        assert result.final == 1
        kept.finals.extend(result.slices)
    last = kept.finals[-1].report.report
    assert last.losses.setup_s == pytest.approx(60.0)
    assert last.losses.breakdowns_s == 0.0


def test_context_keeps_the_first_the_last_and_two_changes(store: Store) -> None:
    values = [5.0] * 10 + [6.0] * 10 + [7.0] * 10
    _append(store, [(T0 + k * NS, "count", v) for k, v in enumerate(values)])
    got = context(store.con, "m", "count", T0, T0 + 30 * NS)
    assert got == [
        (T0, 5.0),  # the first: the observed span starts there
        (T0 + 9 * NS, 5.0),  # before the change to 6
        (T0 + 10 * NS, 6.0),
        (T0 + 19 * NS, 6.0),  # before the last change: the last cycle end is at 20 s
        (T0 + 20 * NS, 7.0),
        (T0 + 29 * NS, 7.0),  # the last: the counter's baseline
    ]
    assert context(store.con, "m", "count", T0 - MIN, T0) == []


def test_late_samples_reopen_their_slice_and_the_ones_after(store: Store) -> None:
    kept = MachineSlices(PARAMS)
    kept.finals = [_slice(T0 + k * MIN) for k in range(5)]
    kept.invalidate(T0 + 2 * MIN + 30 * NS)
    assert [s.start_ns for s in kept.finals] == [T0, T0 + MIN]
    kept.cut_at([T0 + 90 * NS])  # a new cut (an order's start) inside the second
    assert [s.start_ns for s in kept.finals] == [T0]
    assert kept.settle([T0, T0 + MIN, T0 + 90 * NS, T0 + 2 * MIN]) == 1


def _slice(start: int) -> Slice:
    dummy = MachineSlices(PARAMS)
    assert not dummy.finals
    return Slice(start, start + MIN, None, {})  # type: ignore[arg-type]
