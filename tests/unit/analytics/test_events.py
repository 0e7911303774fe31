"""Stop events: state-explained stops, unexplained inferred stops, reasons needed."""

from __future__ import annotations

import numpy as np

from edge.analytics.events import StopEvent, stop_events
from edge.analytics.report import MachineParams
from tests.unit.analytics.traces import NS, polled_counter, polls, utc

T0, T1 = utc(2026, 3, 2, 6), utc(2026, 3, 2, 9)
PARAMS = MachineParams(ideal_cycle_s=10.0, stop_threshold_s=300.0)


def _parts(*runs: tuple[int, int]) -> np.ndarray:
    return np.concatenate([np.arange(a + 10 * NS, b + 1, 10 * NS, dtype=np.int64) for a, b in runs])


def test_state_explains_part_of_a_stop_and_the_rest_needs_a_reason() -> None:
    # No parts 06:58 -> 07:40; the PLC says fault 07:00-07:30, then nothing.
    parts = _parts((T0, utc(2026, 3, 2, 6, 58)), (utc(2026, 3, 2, 7, 40), T1 - NS))
    ts = polls(T0, T1, 10.0)
    state_ts = np.array([T0, utc(2026, 3, 2, 7), utc(2026, 3, 2, 7, 30)], np.int64)
    series = {
        "count": (ts, polled_counter(parts, ts)),
        "state": (state_ts, np.array([1.0, 4.0, 1.0])),
    }
    events = stop_events(series, PARAMS, T0, T1)
    assert events == [
        StopEvent(utc(2026, 3, 2, 7), utc(2026, 3, 2, 7, 30), "fault"),
        # 06:58-07:00 (2 min) is the edge of the fault; 07:30-07:40 is unexplained.
        StopEvent(utc(2026, 3, 2, 7, 30), utc(2026, 3, 2, 7, 40), "unexplained"),
    ]
    assert [e.needs_reason for e in events] == [False, True]
    assert events[1].duration_s == 600


def test_no_samples_no_events_and_period_filter() -> None:
    assert stop_events({}, PARAMS, T0, T1) == []
    ts = polls(T0, T1, 10.0)
    series = {"count": (ts, np.zeros(ts.size))}  # never produced: one stop, all along
    assert stop_events(series, PARAMS, T0, T1) == [StopEvent(T0, T1, "unexplained")]
    assert stop_events(series, PARAMS, T1, T1 + 3600 * NS) == []
