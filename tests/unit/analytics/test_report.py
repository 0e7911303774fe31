"""Per-window reports: stops over breaks, empty machines, undefined ratios, micro-stops, JSON."""

from __future__ import annotations

import json
from datetime import time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from edge.analytics.calendar import BreakSpec, ShiftSpec
from edge.analytics.report import MachineParams, analyze_machine
from edge.analytics.windows import Windows
from tests.unit.analytics.traces import NS, polled_counter, polls, utc

UTC_TZ = ZoneInfo("UTC")
MIN = 60 * NS
SHIFT = ShiftSpec("morning", time(6), time(14), breaks=(BreakSpec(time(9), 15),))
T0 = utc(2026, 3, 2, 6)
T1 = utc(2026, 3, 2, 14)
PARAMS = MachineParams(ideal_cycle_s=10.0, stop_threshold_s=300.0)
CONTRACT_KEYS = (
    *("machine", "window_start", "window_end", "shift", "planned_s", "run_s", "stop_s"),
    *("micro_stops", "micro_stop_s", "total", "good", "reject", "availability", "performance"),
    *("quality", "oee", "slow_s", "losses", "mtbf_s", "mttr_s"),
)


def _machine(parts: np.ndarray, poll_s: float = 10.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    ts = polls(T0, T1, poll_s)
    return {"count": (ts, polled_counter(parts, ts))}


def _steady(start: int, end: int, every_s: float = 10.0) -> np.ndarray:
    return np.arange(start + round(every_s * NS), end + 1, round(every_s * NS), dtype=np.int64)


def test_a_stop_spanning_a_break_counts_only_outside_the_break() -> None:
    # Stopped 08:50 -> 09:25: 10 min before the break, 10 min after it.
    parts = np.concatenate(
        (_steady(T0, utc(2026, 3, 2, 8, 50)), _steady(utc(2026, 3, 2, 9, 25), T1 - NS))
    )
    [rep] = analyze_machine("m", _machine(parts), PARAMS, [SHIFT], UTC_TZ, T0, T1)
    assert rep.planned_s == 465 * 60
    assert rep.stop_s == 20 * 60
    assert rep.stops == rep.failures == 1
    assert rep.availability == pytest.approx(445 / 465)
    assert rep.mttr_s == 20 * 60


def test_a_machine_with_no_samples_gives_nulls_not_errors() -> None:
    for series in ({}, {"count": (np.empty(0, np.int64), np.empty(0))}):
        reps = analyze_machine("ghost", series, PARAMS, [SHIFT], UTC_TZ, T0, T1 + 3600 * NS, "hour")
        assert len(reps) == 9
        for rep in reps:
            assert (rep.planned_s, rep.run_s, rep.total, rep.good, rep.reject) == (0, 0, 0, 0, 0)
            assert rep.availability is rep.performance is rep.quality is rep.oee is None
            assert rep.mtbf_s is None and rep.mttr_s is None


def test_a_stopped_window_has_zero_availability_and_undefined_performance() -> None:
    parts = _steady(T0, utc(2026, 3, 2, 7) - NS)  # only the first hour produces
    reps = analyze_machine("m", _machine(parts), PARAMS, [SHIFT], UTC_TZ, T0, T1, "hour")
    second = reps[1]
    assert second.planned_s == 3600 and second.run_s == 0
    assert second.availability == 0.0 and second.performance is None and second.quality is None
    assert second.oee == 0.0
    assert reps[0].performance == pytest.approx(1.0, abs=3e-3) and reps[0].quality == 1.0


def test_micro_stops_are_performance_loss_unless_configured_as_availability() -> None:
    # Steady 10 s cycles with a 2 min hiccup at 07:00 (a micro-stop: under the 5 min threshold).
    parts = np.concatenate(
        (_steady(T0, utc(2026, 3, 2, 7)), _steady(utc(2026, 3, 2, 7, 2), T1 - NS))
    )
    [perf] = analyze_machine("m", _machine(parts), PARAMS, [SHIFT], UTC_TZ, T0, T1)
    assert perf.micro_stops == 1 and perf.micro_stop_s == 120
    assert perf.stop_s == 0 and perf.run_s == perf.planned_s
    avail = MachineParams(ideal_cycle_s=10.0, micro_stops_in_availability=True)
    [av] = analyze_machine("m", _machine(parts), avail, [SHIFT], UTC_TZ, T0, T1)
    assert av.stop_s == perf.stop_s + 120
    assert av.run_s == perf.run_s - 120
    assert av.losses.small_stops_s == 120 and av.losses.breakdowns_s == perf.losses.breakdowns_s


def test_slow_cycles_are_speed_loss() -> None:
    parts = _steady(T0, T1 - NS, every_s=15.0)  # 15 s cycles on a 10 s machine
    [rep] = analyze_machine("m", _machine(parts, poll_s=5.0), PARAMS, [SHIFT], UTC_TZ, T0, T1)
    assert rep.micro_stops == 0
    assert rep.slow_s == pytest.approx(5.0 * (rep.total - 60), abs=50)  # breaks' cycles excluded
    assert rep.slow_s == pytest.approx(rep.run_s / 3, abs=50)  # a third of run time is lost
    assert rep.performance == pytest.approx(rep.total * 10 / rep.run_s)


def test_to_dict_is_json_with_the_contract_keys() -> None:
    w = Windows.of([T0], [T1])
    [rep] = analyze_machine("m", {}, PARAMS, [SHIFT], UTC_TZ, T0, T1, w)
    d = json.loads(json.dumps(rep.to_dict()))
    assert set(CONTRACT_KEYS) <= set(d)
    assert d["window_start"] == "2026-03-02T06:00:00Z" and d["oee"] is None
    assert set(d["losses"]) == {
        "breakdowns_s", "setup_s", "small_stops_s", "reduced_speed_s",
        "startup_rejects_s", "production_rejects_s",
    }  # fmt: skip


def test_planned_stop_state_is_not_planned_time() -> None:
    parts = _steady(T0, T1 - NS)
    series = _machine(parts)
    series["state"] = (
        np.array([T0, utc(2026, 3, 2, 12), utc(2026, 3, 2, 13)], np.int64),
        np.array([1.0, 6.0, 1.0]),
    )
    [rep] = analyze_machine("m", series, PARAMS, [SHIFT], UTC_TZ, T0, T1)
    assert rep.planned_s == (465 - 60) * 60
    assert rep.stop_s == 0


def test_without_a_part_signal_only_the_state_says_stopped() -> None:
    state = (
        np.array([T0, utc(2026, 3, 2, 7), utc(2026, 3, 2, 8)], np.int64),
        np.array([1.0, 4.0, 1.0]),
    )
    [short] = analyze_machine("m", {"state": state}, PARAMS, [SHIFT], UTC_TZ, T0, T1)
    assert short.planned_s == 2 * 3600  # observed from the first to the last sample
    assert short.stop_s == 3600 and short.failures == 1  # the fault hour; silence is not a stop
    assert short.total == 0 and short.performance == 0.0
    [rep] = analyze_machine(
        "m", {"state": state}, PARAMS, [SHIFT], UTC_TZ, T0, T1, observed_until_ns=T1
    )
    assert rep.planned_s == 8 * 3600 - 15 * 60  # watched until the end: running since 08:00
    assert rep.stop_s == 3600


def test_without_shifts_every_hour_is_planned() -> None:
    parts = _steady(T0, T1 - NS)
    reps = analyze_machine("m", _machine(parts), PARAMS, [], UTC_TZ, T0, T1, "hour")
    assert len(reps) == 8 and all(r.planned_s == 3600 for r in reps)
    [day] = analyze_machine("m", _machine(parts), PARAMS, [], UTC_TZ, T0, T1, "shift")
    assert day.shift == "all day" and day.planned_s == 8 * 3600


def test_a_cycle_bit_counts_one_part_per_rising_edge() -> None:
    ts = polls(T0, T1, 5.0)  # the bit is high for one poll in two: a part every 10 s
    bit = (np.arange(ts.size) % 2).astype(np.float64)
    [rep] = analyze_machine("m", {"cycle": (ts, bit)}, PARAMS, [SHIFT], UTC_TZ, T0, T1)
    assert rep.total == 8 * 360 and rep.stop_s == 0
    assert rep.performance == pytest.approx(rep.total * 10 / rep.run_s)
