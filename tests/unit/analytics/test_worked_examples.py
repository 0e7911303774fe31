"""Worked examples 1 and 2 of reference/oee.md, reproduced from generated signal traces."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from edge.analytics.calendar import BreakSpec, ShiftSpec
from edge.analytics.report import MachineParams, analyze_machine
from tests.unit.analytics.traces import NS, parts_evenly, polled_counter, polls, utc

MIN = 60 * NS


def _spread_parts(segments: list[tuple[int, int]], total: int, ideal_ns: int) -> np.ndarray:
    """``total`` parts over run segments, proportionally to their length; each segment's first
    part ends one ideal cycle after it starts (the machine restarts at the segment start)."""
    lengths = np.array([e - s for s, e in segments], dtype=np.float64)
    n = np.floor(lengths / lengths.sum() * total).astype(int)
    n[-1] += total - n.sum()
    out = [
        s + ideal_ns + parts_evenly(0, e - s - ideal_ns, k - 1)
        for (s, e), k in zip(segments, n, strict=True)
    ]
    firsts = [np.array([s + ideal_ns]) for s, _ in segments]
    return np.sort(np.concatenate(out + firsts))


def test_example_1_classic_shift_with_breaks_and_a_breakdown() -> None:
    """480 min shift, breaks 2x15 + 30 min, 47 min down (counter flat), ideal 1 s, 19,271 parts,
    423 rejects: A 0.8881, P 0.8611, Q 0.9780, OEE 0.7479. The counter is a uint16 read every
    5 s: it wraps during the shift (several parts per poll are spread)."""
    t0 = utc(2026, 3, 2, 6, 0)  # Monday
    shift = ShiftSpec(
        "morning",
        time(6),
        time(14),
        days=(0, 1, 2, 3, 4),
        breaks=(BreakSpec(time(9), 15), BreakSpec(time(11, 30), 30), BreakSpec(time(13), 15)),
    )
    at = lambda m: t0 + m * MIN  # noqa: E731
    runs = [
        (at(0), at(60)),
        (at(107), at(180)),
        (at(195), at(330)),
        (at(360), at(420)),
        (at(435), at(480) - 10 * NS),
    ]
    parts = _spread_parts(runs, 19_271, NS)
    poll_ts = polls(t0, at(480), 5.0)
    count = polled_counter(parts, poll_ts, start_value=60_000, width_bits=16)
    assert count.min() < 1000 < 60_000 <= count.max()  # the wrap really happens mid-shift
    rejects = polled_counter(parts[::45][:423], poll_ts)
    series = {"count": (poll_ts, count), "reject": (poll_ts, rejects)}
    params = MachineParams(ideal_cycle_s=1.0, counter_width_bits=16, max_rate_per_s=2.0)

    [rep] = analyze_machine(
        "press-01", series, params, [shift], ZoneInfo("UTC"), t0, at(480), "shift"
    )

    assert rep.shift == "morning"
    assert rep.planned_s == 420 * 60
    assert (rep.total, rep.reject, rep.good) == (19_271, 423, 18_848)
    assert rep.stops == rep.failures == 1  # the machine halted over the breaks: not failures
    assert rep.availability == pytest.approx(373 / 420, abs=1e-3)
    assert rep.performance == pytest.approx(19_271 / 22_380, abs=1e-3)
    assert rep.quality == pytest.approx(18_848 / 19_271, abs=1e-3)
    assert rep.oee == pytest.approx(18_848 / 25_200, abs=1e-3)
    assert rep.oee == pytest.approx(rep.availability * rep.performance * rep.quality)
    assert rep.stop_s == pytest.approx(47 * 60, abs=5)
    assert rep.losses.production_rejects_s == 423.0


def test_example_2_night_shift_with_state_signal() -> None:
    """Planned 480 min (a 22:00-06:30 shift with a 30 min break), 60 min down reported by the
    state signal (30 min fault, 30 min setup), ideal 1 min, 400 parts of which 380 good (good
    counter): A 0.8750, P 0.9524, Q 0.9500, OEE 0.7917."""
    t0 = utc(2026, 3, 3, 22, 0)
    shift = ShiftSpec("night", time(22), time(6, 30), breaks=(BreakSpec(time(2), 30),))
    at = lambda m: t0 + m * MIN  # noqa: E731
    runs = [(at(0), at(60)), (at(90), at(120)), (at(150), at(240)), (at(270), at(510) - 10 * NS)]
    parts = _spread_parts(runs, 400, MIN)
    poll_ts = polls(t0, at(510), 2.0)
    count = polled_counter(parts, poll_ts, start_value=4_294_967_000)  # uint32 wraps too
    good = polled_counter(np.delete(parts, np.arange(5, 400, 20)), poll_ts)
    state_ts = np.array([at(0), at(60), at(90), at(120), at(150), at(240), at(270)], np.int64)
    state = np.array([1, 4, 1, 5, 1, 1, 1], np.float64)  # running, fault, running, setup, ...
    series = {"count": (poll_ts, count), "good": (poll_ts, good), "state": (state_ts, state)}
    params = MachineParams(ideal_cycle_s=60.0, stop_threshold_s=300.0)

    [rep] = analyze_machine(
        "lathe-02", series, params, [shift], ZoneInfo("UTC"), t0, at(510), "shift"
    )

    assert rep.planned_s == 480 * 60
    assert (rep.total, rep.good, rep.reject) == (400, 380, 20)
    assert rep.losses.setup_s == pytest.approx(30 * 60, abs=1)
    assert rep.losses.breakdowns_s == pytest.approx(30 * 60, abs=1)
    assert rep.availability == pytest.approx(0.8750, abs=1e-3)
    assert rep.performance == pytest.approx(0.9524, abs=1e-3)
    assert rep.quality == pytest.approx(0.9500, abs=1e-3)
    assert rep.oee == pytest.approx(0.7917, abs=1e-3)
    assert rep.failures == 1 and rep.stops == 2  # the fault; the fault and the setup
    assert rep.mttr_s == pytest.approx(30 * 60, abs=1)
