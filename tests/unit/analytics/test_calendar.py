"""Shift calendar in local time: days of week, breaks, midnight crossing, DST days, windows."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import numpy as np

from edge.analytics.calendar import BreakSpec, ShiftSpec, from_ns, shift_plan
from edge.analytics.report import MachineParams, analyze_machine
from edge.analytics.windows import day_windows, hour_windows, windows_by
from tests.unit.analytics.traces import NS, polled_counter, polls, utc

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600 * NS
NIGHT = ShiftSpec("night", time(22), time(6), breaks=(BreakSpec(time(2), 30),))
MORNING = ShiftSpec("morning", time(6), time(14), breaks=(BreakSpec(time(9), 15),))


def _iso(ns: int) -> str:
    return from_ns(ns).isoformat()


def test_night_shift_on_the_25_hour_night_lasts_9_hours() -> None:
    plan = shift_plan([NIGHT], PARIS, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert plan.names == ("night",)
    assert _iso(int(plan.starts[0])) == "2026-10-24T20:00:00+00:00"  # 22:00 CEST
    assert _iso(int(plan.ends[0])) == "2026-10-25T05:00:00+00:00"  # 06:00 CET
    assert plan.planned.total_ns == 9 * HOUR - 30 * 60 * NS


def test_night_shift_on_the_23_hour_night_lasts_7_hours() -> None:
    plan = shift_plan([NIGHT], PARIS, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert _iso(int(plan.starts[0])) == "2026-03-28T21:00:00+00:00"  # 22:00 CET
    assert _iso(int(plan.ends[0])) == "2026-03-29T04:00:00+00:00"  # 06:00 CEST
    assert plan.planned.total_ns == 7 * HOUR - 30 * 60 * NS
    # The 02:00 break does not exist locally that night: read with the offset before the change.
    assert plan.breaks.pairs() == [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30))]


def test_day_shift_follows_local_time_across_the_change() -> None:
    plan = shift_plan([MORNING], PARIS, utc(2026, 3, 28), utc(2026, 3, 30))
    assert [_iso(int(s)) for s in plan.starts] == [
        "2026-03-28T05:00:00+00:00",  # 06:00 CET
        "2026-03-29T04:00:00+00:00",  # 06:00 CEST
    ]
    assert plan.planned.total_ns == 2 * (8 * HOUR - 15 * 60 * NS)


def test_days_of_week_and_midnight_crossing() -> None:
    friday_night = ShiftSpec(
        "fri-night", time(22), time(6), days=(4,), breaks=(BreakSpec(time(1), 10),)
    )
    plan = shift_plan([friday_night], ZoneInfo("UTC"), utc(2026, 3, 2), utc(2026, 3, 16))
    assert [_iso(int(s)) for s in plan.starts] == [
        "2026-03-06T22:00:00+00:00",
        "2026-03-13T22:00:00+00:00",
    ]
    assert _iso(int(plan.ends[0])) == "2026-03-07T06:00:00+00:00"
    assert plan.breaks.pairs()[0] == (utc(2026, 3, 7, 1), utc(2026, 3, 7, 1, 10))  # next day


def test_day_and_hour_windows_on_dst_days() -> None:
    oct_day = day_windows(PARIS, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    assert (oct_day.ends - oct_day.starts).tolist() == [25 * HOUR]
    mar_day = day_windows(PARIS, utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert (mar_day.ends - mar_day.starts).tolist() == [23 * HOUR]
    assert len(hour_windows(PARIS, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))) == 25
    assert len(windows_by("hour", [], PARIS, utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))) == 23


def test_paris_night_shift_analysed_from_a_utc_trace_on_both_change_days() -> None:
    """A machine making one part every 10 s all night, polled every 10 s (UTC timestamps)."""
    params = MachineParams(ideal_cycle_s=10.0)
    for start, hours in [(utc(2026, 10, 24, 19), 9), (utc(2026, 3, 28, 20), 7)]:
        end = start + 11 * HOUR
        ts = polls(start, end, 10.0)
        count = polled_counter(ts[1:], ts)
        [rep] = analyze_machine("m", {"count": (ts, count)}, params, [NIGHT], PARIS, start, end)
        assert rep.shift == "night"
        assert rep.planned_s == hours * 3600 - 30 * 60
        assert rep.total == hours * 360  # parts of the whole shift, break included
        assert rep.run_s == rep.planned_s and rep.stop_s == 0
        assert rep.availability == 1.0
        expected_p = rep.total * 10.0 / rep.planned_s
        assert rep.performance is not None and abs(rep.performance - expected_p) < 1e-12
        assert np.isclose(rep.oee or 0.0, rep.total * 10.0 / rep.planned_s)
