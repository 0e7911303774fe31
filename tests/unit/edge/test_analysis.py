"""OEE over stored samples: window boundaries lose no part, hours join into a shift."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.analytics.report import MachineParams, join
from edge.analytics.windows import Windows
from edge.runtime.analysis import Calendar, oee_reports
from edge.runtime.slices import analyse_chain
from edge.store import Store
from tests.unit.edge.conftest import sample_columns

NS = 1_000_000_000
HOUR = 3600 * NS
T0 = 1_767_600_000 * NS - (1_767_600_000 * NS) % HOUR  # an hour boundary
PARAMS = MachineParams(ideal_cycle_s=2.0, stop_threshold_s=60.0)
CAL = Calendar((), ZoneInfo("UTC"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    s.open()
    # One part every 2 s for 2 hours, with a 10-minute stop across the hour boundary.
    ts = [T0 + i * 2 * NS for i in range(3600)]
    ts = [t for t in ts if not (T0 + HOUR - 5 * 60 * NS <= t < T0 + HOUR + 5 * 60 * NS)]
    values = [float(i) for i in range(len(ts))]
    s.append_samples(sample_columns(ts, ["m"] * len(ts), ["count"] * len(ts), values))
    yield s
    s.close()


def test_hours_join_into_the_two_hour_window(store: Store) -> None:
    hours = oee_reports(store, "m", PARAMS, CAL, start_ns=T0, end_ns=T0 + 2 * HOUR, by="hour")
    whole = oee_reports(
        store,
        "m",
        PARAMS,
        CAL,
        start_ns=T0,
        end_ns=T0 + 2 * HOUR,
        by=Windows.of([T0], [T0 + 2 * HOUR]),
    )[0]
    assert len(hours) == 2
    # The second hour's first part is measured from the last count before the boundary.
    assert sum(h.total for h in hours) == whole.total == 3600 - 300 - 1
    bounds = [T0, T0 + HOUR, T0 + 2 * HOUR]
    sliced = analyse_chain(store, "m", PARAMS, CAL, bounds, [None, None], {}, T0 + 2 * HOUR)
    assert [s.report.report.stops for s in sliced.slices] == [1, 1]  # the stop over the boundary
    combined = join([s.report for s in sliced.slices], PARAMS)
    assert combined.stops == whole.stops == 1
    for name in ("planned_s", "run_s", "stop_s", "total", "good", "failures", "mttr_s"):
        assert getattr(combined, name) == pytest.approx(getattr(whole, name))
    assert combined.oee == pytest.approx(whole.oee)
    assert combined.window_start == whole.window_start
    assert combined.window_end == whole.window_end


def test_a_stop_threshold_longer_than_the_default_margin_still_finds_the_stop(
    tmp_path: Path,
) -> None:
    """Stop threshold 20 min: the last part 15 min before the window, the next 10 min into it.
    The 25-minute gap is a stop, so the window's first 10 minutes are stop time. A read
    margin of only 10 minutes saw a 20-minute gap (not longer than the threshold): no stop."""
    params = MachineParams(ideal_cycle_s=2.0, stop_threshold_s=20 * 60.0)
    start = T0 + HOUR
    before = [start - HOUR + i * 2 * NS for i in range(45 * 30)]  # parts until start - 15 min
    after = [start + 10 * 60 * NS + i * 2 * NS for i in range(25 * 30)]  # from start + 10 min
    # the counter is polled every second (value unchanged through the gap)
    polls = list(range(before[-1] + NS, after[0], NS))
    ts = sorted([*before, *after, *polls])
    counts, n = [], 0
    parts = set(before) | set(after)
    for t in ts:
        n += t in parts
        counts.append(float(n))
    s = Store(tmp_path)
    s.open()
    try:
        s.append_samples(sample_columns(ts, "m", "count", counts))
        window = Windows.of([start], [start + HOUR])
        [whole] = oee_reports(s, "m", params, CAL, start_ns=start, end_ns=start + HOUR, by=window)
        bounds = [start + k * 60 * NS for k in range(61)]
        chain = analyse_chain(s, "m", params, CAL, bounds, [None] * 60, {}, start + HOUR)
    finally:
        s.close()
    assert whole.stops == 1
    assert whole.stop_s == pytest.approx(10 * 60, abs=2)
    joined = join([x.report for x in chain.slices], params)
    assert joined.stops == 1
    assert joined.stop_s == pytest.approx(whole.stop_s)
    assert joined.run_s == pytest.approx(whole.run_s)
