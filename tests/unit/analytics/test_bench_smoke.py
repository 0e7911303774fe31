"""The analytics benchmark runs (smoke sizes); its figures are judged by people, not here."""

from __future__ import annotations

import pytest

from bench import analytics
from edge.analytics.counters import counter_deltas


def test_bench_analytics_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert analytics.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for label in ("ns/sample", "np.add baseline", "ratio pipeline / np.add", "speed-up"):
        assert label in out


def test_python_loop_agrees_with_the_pipeline_on_totals() -> None:
    trace = analytics.make_trace(20_000, poll_s=0.5, cycle_s=1.0)
    totals, _ = analytics.python_loop(trace, analytics.PARAMS)
    parts = counter_deltas(*trace, width_bits=16, max_rate_per_s=3.0).total
    assert sum(totals.values()) == parts  # the loop does the same counting work
