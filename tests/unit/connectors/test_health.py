from __future__ import annotations

import logging

import pytest

from connectors.base import ConnectionState
from connectors.health import BadInputCounter, StatusTracker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bad_input_is_counted_always_and_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    counter = BadInputCounter("press-01", logging.getLogger("t"), interval_s=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="t"):
        logged = [counter.add("malformed_json") for _ in range(100)]
        counter.add("oversized")
        clock.now = 61
        assert counter.add("malformed_json", "bad byte")
    assert logged.count(True) == 1
    assert counter.counts == {"malformed_json": 101, "oversized": 1}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "press-01" in messages[0]
    assert "(100 since last report, 101 total): bad byte" in messages[2]


def test_status_tracks_state_connected_since_and_samples() -> None:
    clock = FakeClock()
    tracker = StatusTracker(
        "m", BadInputCounter("m", logging.getLogger("t"), clock=clock), wall_clock_ns=lambda: 42
    )
    tracker.set_state(ConnectionState.connecting)
    assert tracker.snapshot().connected_since_ns is None
    tracker.set_state(ConnectionState.connected)
    tracker.count_samples(3, 99)
    tracker.bad.add("x")
    snap = tracker.snapshot()
    assert (snap.state, snap.connected_since_ns, snap.samples, snap.last_sample_ns) == (
        ConnectionState.connected,
        42,
        3,
        99,
    )
    assert snap.errors == {"x": 1}
    tracker.set_state(ConnectionState.reconnecting, "connection refused")
    snap = tracker.snapshot()
    assert (snap.connected_since_ns, snap.last_error) == (None, "connection refused")
