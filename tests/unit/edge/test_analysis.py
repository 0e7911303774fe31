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
