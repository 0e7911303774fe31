"""The board's OEE job keeps final slices, re-reads only the open ones, and reopens a slice when
late samples for it arrive (a backlog drained after an outage): the figures then still equal
the analysis of the whole period."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import edge.runtime.slices
from edge.analytics.report import MachineParams, WindowReport
from edge.analytics.windows import Windows
from edge.jobs import EdgeJobs, window_reports
from edge.runtime.analysis import Calendar, current_shift, oee_reports
from edge.runtime.incremental import IncrementalAnalytics
from edge.runtime.incremental import MachineParams as IncrementalParams
from edge.store import Store
from edge.writer import StoreWriter
from tests.unit.edge.conftest import sample_columns

NS = 1_000_000_000
MIN = 60 * NS
PARAMS = MachineParams(ideal_cycle_s=2.0, stop_threshold_s=60.0)
CAL = Calendar((), ZoneInfo("UTC"))
DAY = 24 * 60 * MIN


def _noon() -> int:
    """Today's noon (UTC): the jobs' frozen clock, far from the local day's start whenever the
    suite runs (ten minutes before 00:05 is another day)."""
    return time.time_ns() // DAY * DAY + DAY // 2


def _rows(start: int, end: int, every_s: int = 2, first: int = 0) -> list[tuple[int, float]]:
    return [(t, float(first + k)) for k, t in enumerate(range(start, end, every_s * NS))]


def _append(store: Store, signal: str, rows: list[tuple[int, float]]) -> None:
    store.append_samples(
        sample_columns(
            [t for t, _ in rows], ["m"] * len(rows), [signal] * len(rows), [v for _, v in rows]
        )
    )


def _whole(store: Store, start: int, end: int) -> WindowReport:
    [report] = oee_reports(
        store, "m", PARAMS, CAL, start_ns=start, end_ns=end, by=Windows.of([start], [end])
    )
    return report


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sample ranges the slices read, one per ``slice_series`` call (a writer call)."""
    found: list[tuple[int, int]] = []
    real_series = edge.runtime.slices.slice_series

    def counting_series(
        store: Store, machine: str, lo: int, hi: int, carry: object, margin: int
    ) -> object:
        found.append((lo, hi))
        return real_series(store, machine, lo, hi, carry, margin)  # type: ignore[arg-type]

    monkeypatch.setattr(edge.runtime.slices, "slice_series", counting_series)
    return found


async def test_final_slices_are_kept_and_late_samples_reopen_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[tuple[int, int]]
) -> None:
    now = _noon()
    monkeypatch.setattr(time, "time_ns", lambda: now)  # the jobs' clock
    shift = current_shift(CAL, now)
    start = max(shift.start_ns, now - 20 * MIN)  # samples from 20 minutes ago (or midnight)
    incremental = IncrementalAnalytics({"m": IncrementalParams("m", 2.0, 2.0, 60.0)})
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(Store.open)
        await writer.call(_append, "count", _rows(start, now))
        jobs = EdgeJobs(writer, incremental, {"m": PARAMS}, CAL, retention_days=7)
        await jobs.run_analytics()
        await jobs.refresh_shift_oee()
        first = jobs.state.shift_oee["m"]
        expected = await writer.call(_whole, shift.start_ns, now)
        assert first.total == expected.total > 0
        assert first.planned_s == pytest.approx(expected.planned_s)
        # the next refresh reads only the open minute (or two), not the 20 minutes again
        reads.clear()
        await jobs.refresh_shift_oee()
        assert len(reads) == 1 and now - reads[0][0] <= 2 * MIN, reads

        # samples in time order (the last second) reopen nothing
        await writer.call(_append, "count", [(now - NS // 2, float(10**6))])
        await jobs.run_analytics()
        reads.clear()
        await jobs.refresh_shift_oee()
        assert len(reads) == 1 and now - reads[0][0] <= 2 * MIN, reads
        first = jobs.state.shift_oee["m"]

        # a late reject for ten minutes ago (a drained backlog): its slice reopens
        late = now - 10 * MIN
        await writer.call(_append, "reject", [(late - 60 * NS, 0.0), (late, 3.0)])
        await jobs.run_analytics()
        reads.clear()
        await jobs.refresh_shift_oee()
        assert reads and min(lo for lo, _ in reads) <= late - PARAMS.limits.stop_ns
        again = jobs.state.shift_oee["m"]
        assert again.reject == 3 and again.total == first.total
        expected = await writer.call(_whole, shift.start_ns, now)
        assert (again.reject, again.good) == (expected.reject, expected.good)
        assert again.planned_s == pytest.approx(expected.planned_s)


async def test_order_oee_is_joined_from_the_orders_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = _noon()
    monkeypatch.setattr(time, "time_ns", lambda: now)  # the jobs' clock
    shift = current_shift(CAL, now)
    start = max(shift.start_ns, now - 20 * MIN)
    since = now - 7 * MIN - 13 * NS  # not on a minute mark
    incremental = IncrementalAnalytics({"m": IncrementalParams("m", 2.0, 2.0, 60.0)})
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(Store.open)
        await writer.call(_append, "count", _rows(start, now))
        jobs = EdgeJobs(writer, incremental, {"m": PARAMS}, CAL, retention_days=7)
        await jobs.run_analytics()
        jobs.state.active_orders = {"m": "WO-7"}
        jobs.state.order_since = {"m": since}
        await jobs.refresh_oee()
        order = jobs.state.order_oee["m"]
        assert order is not None and order.shift == "WO-7"
        expected = await writer.call(_whole, since, now)
        assert order.total == expected.total
        assert order.planned_s == pytest.approx(expected.planned_s)
        assert order.window_start == expected.window_start


async def test_window_reports_equal_the_whole_range_analysis_read_a_chunk_at_a_time(
    tmp_path: Path, reads: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/api/v1/machines/{id}/oee`` reports: each hour joined from slices equals the analysis
    of that hour from every sample (the stop across a boundary too), and no writer call reads
    more than a chunk of samples."""
    t0 = 1_767_600_000 * NS - (1_767_600_000 * NS) % (60 * MIN)  # an hour boundary
    ts = [t for t in range(t0, t0 + 180 * MIN, 2 * NS) if not (55 * MIN <= t - t0 < 65 * MIN)]
    rejects = [t0 + k * 17 * MIN for k in range(1, 10)]
    compactions: list[int] = []
    real_compact = edge.runtime.slices.MachineSlices.compact

    def counting_compact(self: edge.runtime.slices.MachineSlices, *args: object) -> None:
        compactions.append(len(self.finals))
        real_compact(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(edge.runtime.slices.MachineSlices, "compact", counting_compact)
    hours = Windows.of(
        [t0 + h * 60 * MIN for h in range(3)], [t0 + h * 60 * MIN for h in (1, 2, 3)]
    )
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(Store.open)
        await writer.call(_append, "count", [(t, float(k)) for k, t in enumerate(ts)])
        rows = [(t0, 0.0), *((t, float(k + 1)) for k, t in enumerate(rejects))]
        await writer.call(_append, "reject", rows)
        got = await window_reports(writer, "m", PARAMS, CAL, hours, t0 + 240 * MIN)
        want = await writer.call(
            lambda s: oee_reports(s, "m", PARAMS, CAL, start_ns=t0, end_ns=t0 + 180 * MIN, by=hours)
        )
    assert len(got) == len(want) == 3
    assert [w.stops for w in got] == [1, 1, 0]  # the stop across the first boundary
    for g, w in zip(got, want, strict=True):
        for name in ("planned_s", "run_s", "stop_s", "total", "good", "reject", "stops"):
            assert getattr(g, name) == pytest.approx(getattr(w, name)), name
        assert g.oee == pytest.approx(w.oee)
    assert sum(g.reject for g in got) == len(rejects)
    # a chunk is 15 minutes plus the look-ahead (stop threshold + a minute); the chunk whose
    # end falls in the stop is read again a chunk further: at most 32 minutes of parts at one
    # per 2 s, never the whole 3 hours
    read = [sum(lo <= t < hi for t in ts) for lo, hi in reads]
    assert len(reads) > 3 and max(read) <= 32 * 30
    assert compactions  # the minute slices of hours already passed were joined on the way


async def test_shift_window_reports_skip_the_time_between_shifts(tmp_path: Path) -> None:
    """By shift, with no night shift: one report per shift, labelled with its name, equal to
    the whole-range analysis; the parts made at night belong to no window."""
    from datetime import time as clock

    from edge.analytics.calendar import ShiftSpec
    from edge.analytics.windows import windows_by

    cal = Calendar(
        (ShiftSpec("morning", clock(6), clock(14)), ShiftSpec("afternoon", clock(14), clock(22))),
        ZoneInfo("UTC"),
    )
    day = 1_767_600_000 * NS // DAY * DAY
    ts = list(range(day + 4 * 60 * MIN, day + 24 * 60 * MIN, 4 * NS))  # 04:00 to midnight
    shifts = windows_by("shift", cal.shifts, cal.tz, day, day + DAY)
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(Store.open)
        await writer.call(_append, "count", [(t, float(k)) for k, t in enumerate(ts)])
        got = await window_reports(writer, "m", PARAMS, cal, shifts, day + 2 * DAY)
        want = await writer.call(
            lambda s: oee_reports(s, "m", PARAMS, cal, start_ns=day, end_ns=day + DAY, by=shifts)
        )
    assert [g.shift for g in got] == [w.shift for w in want] == ["morning", "afternoon"]
    assert [g.total for g in got] == [w.total for w in want] == [8 * 900, 8 * 900]
    for g, w in zip(got, want, strict=True):
        for name in ("planned_s", "run_s", "stop_s", "good", "stops"):
            assert getattr(g, name) == pytest.approx(getattr(w, name)), name
