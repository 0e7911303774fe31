"""Learned cycle times, recent efficiency and the effective cycle."""

from __future__ import annotations

import pytest

from central.domain.errors import InvalidInput
from central.domain.throughput import (
    NO_LOSS,
    CycleEstimate,
    Efficiency,
    OeeReport,
    ProductionReport,
    cycle_estimate,
    effective_cycle_s,
    learn_cycle_times,
    recent_efficiency,
)
from tests.unit.central_domain.factories import utc

NOW = utc(2026, 11, 2, 12)


def report(
    hour: int, good: float, scrap: float, run_s: float, item: str = "bracket"
) -> ProductionReport:
    return ProductionReport("press-01", item, utc(2026, 11, 2, hour), good, scrap, run_s)


def test_learned_cycle_is_run_time_over_parts_of_the_last_n_reports() -> None:
    reports = [
        report(1, 90, 10, 2000),  # oldest: dropped by window=3
        report(2, 480, 20, 3000),
        report(3, 300, 0, 1500),
        report(4, 250, 0, 1800),
        report(5, 0, 0, 600),  # no parts: ignored
    ]
    # Last 3 usable: (3000 + 1500 + 1800) s / (500 + 300 + 250) parts = 6300 / 1050 = 6.0 s
    learned = learn_cycle_times(reports, window=3)
    assert learned == {("press-01", "bracket"): CycleEstimate(6.0, "learned", 3)}
    # All four usable: 8300 / 1150
    assert learn_cycle_times(reports)[("press-01", "bracket")].cycle_s == pytest.approx(8300 / 1150)


def test_learned_cycle_is_weighted_by_parts_not_by_report() -> None:
    # A plain mean of per-report cycles would say (1 + 30) / 2 = 15.5 s.
    learned = learn_cycle_times([report(1, 1000, 0, 1000), report(2, 2, 0, 60)])
    assert learned[("press-01", "bracket")].cycle_s == pytest.approx(1060 / 1002)


def test_cycle_estimate_falls_back_to_routing() -> None:
    learned = learn_cycle_times([report(1, 100, 0, 300)])
    assert cycle_estimate(learned, "press-01", "bracket", 1.0) == CycleEstimate(3.0, "learned", 1)
    assert cycle_estimate(learned, "press-01", "hinge", 1.5) == CycleEstimate(1.5, "routing", 0)
    assert cycle_estimate(learned, "lathe-02", "bracket", 4.0).source == "routing"


def test_recent_efficiency_is_time_weighted_over_the_lookback() -> None:
    reports = [
        OeeReport("press-01", utc(2026, 11, 1, 10), 3600, 0, 0.0),  # 26 h ago: outside
        OeeReport("press-01", utc(2026, 11, 2, 10), 3600, 3600, 0.9),
        OeeReport("press-01", utc(2026, 11, 2, 11), 3600, 1800, 0.6),
        OeeReport("lathe-02", utc(2026, 11, 2, 11), 3600, 0, 0.0),
    ]
    eff = recent_efficiency(reports, now=NOW)
    # A = 5400 / 7200 = 0.75; P = (0.9 × 3600 + 0.6 × 1800) / 5400 = 0.8
    assert eff["press-01"].availability == 0.75
    assert eff["press-01"].performance == pytest.approx(0.8)
    assert eff["lathe-02"] == Efficiency(0.0, 1.0)
    assert "oven-03" not in eff


def test_effective_cycle_divides_learned_by_availability_and_routing_by_a_times_p() -> None:
    eff = Efficiency(0.8, 0.9)
    assert effective_cycle_s(CycleEstimate(6.0, "learned", 5), eff) == pytest.approx(7.5)
    assert effective_cycle_s(CycleEstimate(3.6, "routing", 0), eff) == pytest.approx(3.6 / 0.72)
    assert effective_cycle_s(CycleEstimate(2.0, "routing", 0), NO_LOSS) == 2.0


def test_effective_cycle_is_bounded() -> None:
    # A machine that barely ran in the lookback cannot push the plan beyond 1 / min_efficiency.
    assert effective_cycle_s(CycleEstimate(6.0, "learned", 1), Efficiency(0.05, 1.0)) == 20.0
    assert (
        effective_cycle_s(
            CycleEstimate(6.0, "learned", 1), Efficiency(0.05, 1.0), min_efficiency=0.5
        )
        == 12.0
    )
    # Performance above 1 (ideal cycle set too slow) never makes the plan faster than the cycle.
    assert effective_cycle_s(CycleEstimate(2.0, "routing", 0), Efficiency(1.0, 1.4)) == 2.0


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"ProductionReport\[press-01/bracket\].run_s"):
        report(1, 10, 0, -5)
    with pytest.raises(InvalidInput, match=r"OeeReport\[press-01\].end"):
        OeeReport("press-01", NOW.replace(tzinfo=None), 3600, 3600, 1.0)
    with pytest.raises(InvalidInput, match="window"):
        learn_cycle_times([], window=0)
    with pytest.raises(InvalidInput, match="min_efficiency"):
        effective_cycle_s(CycleEstimate(1.0, "routing", 0), NO_LOSS, min_efficiency=0.0)
