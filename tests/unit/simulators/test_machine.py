"""Machine model: determinism, tick-rate independence, states, downlink, scripted events."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.machine import NS, Behaviour, MachineModel, MachineSpec, ScriptedEvent

BUSY = Behaviour(
    jitter=0.1,
    reject_rate=0.05,
    micro_stops_per_h=60,
    micro_stop_s=(5, 40),
    stops_per_h=2,
    stop_s=(300, 600),
    mtbf_s=900,
    mttr_s=120,
    slow_periods_per_h=4,
    slow_s=(30, 120),
    setup_s=60,
)
SPEC = MachineSpec(
    "m-1",
    2.0,
    BUSY,
    events=(
        ScriptedEvent(30, "fault", 60),
        ScriptedEvent(1800, order="WO-77", target=100),
    ),
    order="WO-1",
)


def run(spec: MachineSpec, seed: int, step_ns: int, end_s: float = 3600) -> MachineModel:
    model = MachineModel(spec, seed, start_ns=0)
    t = 0
    while t < end_s * NS:
        t += step_ns
        model.advance(min(t, round(end_s * NS)))
    return model


def test_same_seed_gives_identical_truth() -> None:
    a, b = run(SPEC, 7, NS), run(SPEC, 7, NS)
    assert a.truth.events == b.truth.events
    assert a.truth.count > 100


def test_other_seed_gives_other_truth() -> None:
    assert run(SPEC, 7, NS).truth.cycle_end_ns != run(SPEC, 8, NS).truth.cycle_end_ns


@settings(max_examples=15, deadline=None)
@given(step_ms=st.integers(min_value=7, max_value=400_000))
def test_truth_does_not_depend_on_tick_rate(step_ms: int) -> None:
    reference = run(SPEC, 3, 3600 * NS)  # one single advance
    ticked = run(SPEC, 3, step_ms * 1_000_000)
    assert ticked.truth.events == reference.truth.events


def test_every_state_occurs_and_counts_add_up() -> None:
    truth = run(SPEC, 11, 5 * NS, end_s=4 * 3600).truth
    states = {e.state for e in truth.state_changes()}
    assert {"running", "micro_stop", "stopped", "fault", "setup", "idle"} <= states
    assert truth.good + truth.reject == truth.count == len(truth.cycle_end_ns)
    assert truth.reject == len(truth.reject_ns) > 0
    breakdowns = [e for e in truth.state_changes() if e.cause == "breakdown"]
    assert breakdowns, "MTBF 900 s over 4 h must produce breakdowns"


def test_scripted_fault_at_30s_for_60s_and_no_cycle_meanwhile() -> None:
    truth = run(SPEC, 5, NS, end_s=200).truth
    fault = next(e for e in truth.state_changes() if e.cause == "script")
    assert (fault.state, fault.ts_ns) == ("fault", 30 * NS)
    after = next(e for e in truth.state_changes() if e.ts_ns > fault.ts_ns)
    assert after.ts_ns == 90 * NS
    assert not [t for t in truth.cycle_end_ns if 30 * NS < t <= 90 * NS]


def test_scripted_order_sets_up_then_runs_to_target_then_idles() -> None:
    truth = run(SPEC, 5, NS, end_s=3 * 3600).truth
    change = next(e for e in truth.order_changes() if e.order == "WO-77")
    assert change.ts_ns == 1800 * NS and change.target == 100
    setup = next(e for e in truth.state_changes() if e.ts_ns == 1800 * NS)
    assert setup.state == "setup"
    idle = next(e for e in truth.state_changes() if e.cause == "target_reached")
    good_in_order = [
        t for t in truth.cycle_end_ns if change.ts_ns < t <= idle.ts_ns and t not in truth.reject_ns
    ]
    assert len(good_in_order) == 100
    assert truth.state == "idle"


def test_set_order_downlink_triggers_setup_recorded_in_truth() -> None:
    spec = MachineSpec("m-2", 1.0, Behaviour(setup_s=100), order="WO-1")
    model = MachineModel(spec, 1, start_ns=0)
    model.advance(50 * NS)
    before = model.truth.count
    model.set_order("WO-2", 10, 50 * NS)
    assert model.state == "setup"
    assert model.truth.order_changes()[-1].cause == "downlink"
    model.advance(120 * NS)
    assert model.truth.count == before  # nothing produced during setup (90..110 s)
    model.advance(400 * NS)
    assert model.state == "idle" and model.truth.good >= before + 10
    model.set_order("WO-2", 20, 400 * NS)  # same order, new target: no setup, runs again
    assert model.state == "running"


def test_requires_order_waits_idle() -> None:
    model = MachineModel(MachineSpec("m-3", 1.0, requires_order=True), 1, start_ns=0)
    model.advance(100 * NS)
    assert model.state == "idle" and model.truth.count == 0
    model.set_order("WO-9", 0, 100 * NS)
    model.advance(1000 * NS)
    assert model.truth.count > 0


def test_speed_scales_machine_time() -> None:
    slow = MachineModel(MachineSpec("o", 30.0, Behaviour(jitter=0)), 1, start_ns=0)
    fast = MachineModel(MachineSpec("o", 30.0, Behaviour(jitter=0, speed=10)), 1, start_ns=0)
    slow.advance(300 * NS)
    fast.advance(300 * NS)
    assert (slow.truth.count, fast.truth.count) == (10, 100)


def test_count_at_and_state_at_query_the_past() -> None:
    model = MachineModel(MachineSpec("q", 1.0, Behaviour(jitter=0)), 1, start_ns=0)
    model.advance(10 * NS)
    assert model.truth.count_at(5 * NS) == 5
    assert model.truth.state_at(5 * NS) == "running"


def test_lazy_start_and_going_back_is_a_no_op() -> None:
    model = MachineModel(MachineSpec("r", 1.0, Behaviour(jitter=0)), 1)
    assert not model.started
    model.advance(1000 * NS)
    model.advance(1010 * NS)
    model.advance(900 * NS)
    assert model.start_ns == 1000 * NS and model.truth.count == 10


@pytest.mark.parametrize("seed", [1, 2])
def test_stops_cover_every_non_running_interval(seed: int) -> None:
    truth = run(SPEC, seed, 10 * NS, end_s=2 * 3600).truth
    stops = truth.stops()
    assert stops and all(s.end_ns is None or s.end_ns > s.start_ns for s in stops)
    for stop in stops:
        end = stop.end_ns if stop.end_ns is not None else 2**62
        assert not [t for t in truth.cycle_end_ns if stop.start_ns < t < end]
