"""Dispatch ordering: tables for each key level, the filter, the reasons, and properties."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.domain.calendar import Shift, WorkingCalendar
from central.domain.dispatch import DispatchRule, dispatch, natural_key
from central.domain.errors import InvalidInput
from central.domain.orders import KNOWN_STATUSES, ComponentNeed, OpenOrder
from tests.unit.central_domain.factories import utc, wo

NOW = utc(2026, 11, 2, 8)  # a Monday
DAY = timedelta(days=1)


def ranked(orders: list[OpenOrder], **kwargs: object) -> list[str]:
    queues = dispatch(orders, now=NOW, **kwargs)  # type: ignore[arg-type]
    return [r.number for r in queues["press-01"].ranked]


def test_expedite_beats_class_and_class_beats_due_date() -> None:
    orders = [
        wo("WO-1", priority_class="C", due=NOW + DAY),
        wo("WO-2", priority_class="A", due=NOW + 5 * DAY),
        wo("WO-3", priority_class="C", due=NOW + 9 * DAY, expedite=True),
        wo("WO-4", priority_class="B", due=NOW + 2 * DAY),
        wo("WO-5", priority_class=None, due=NOW),
    ]
    # expedite first; then A, B, C; an order without customer class comes after C.
    assert ranked(orders) == ["WO-3", "WO-2", "WO-4", "WO-1", "WO-5"]


def test_planner_priority_ranks_within_a_class_before_the_rule() -> None:
    orders = [
        wo("WO-1", priority_class="B", due=NOW + DAY),
        wo("WO-2", priority_class="B", due=NOW + 5 * DAY, priority=5),
        wo("WO-3", priority_class="B", due=NOW + 9 * DAY, priority=5),
        wo("WO-4", priority_class="B", due=NOW, priority=-1),
        wo("WO-5", priority_class="A", due=NOW + 9 * DAY, priority=-10),
        wo("WO-6", priority_class="C", due=NOW + DAY, priority=1000, expedite=True),
        wo("WO-7", priority_class="C", due=NOW + DAY, priority=1000),
    ]
    # expedite, then class; within class B the higher number first, equal numbers by due date
    assert ranked(orders) == ["WO-6", "WO-5", "WO-2", "WO-3", "WO-1", "WO-4", "WO-7"]


def test_priority_must_be_an_integer() -> None:
    with pytest.raises(InvalidInput, match=r"OpenOrder\[WO-1\]\.priority"):
        wo("WO-1", priority=1.5)


def test_edd_within_a_class_and_missing_due_date_last() -> None:
    orders = [
        wo("WO-1", due=None),
        wo("WO-2", due=NOW + 3 * DAY),
        wo("WO-3", due=NOW + DAY),
    ]
    assert ranked(orders) == ["WO-3", "WO-2", "WO-1"]


def test_critical_ratio_rule() -> None:
    # 1 s/part. Time left / work left:
    #   WO-1: due in 10 h, 5 h of work    → CR 2.0
    #   WO-2: due in 4 h,  5 h of work    → CR 0.8   (cannot make it: most critical)
    #   WO-3: due in 20 h, 8 h of work    → CR 2.5
    #   WO-4: due 2 h ago, 1 h of work    → CR -2.0  (already late)
    #   WO-5: due in 3 h,  0.5 h setup + 2.5 h → CR 1.0
    h = 3600.0
    orders = [
        wo("WO-1", due=NOW + timedelta(hours=10), qty=5 * h),
        wo("WO-2", due=NOW + timedelta(hours=4), qty=5 * h),
        wo("WO-3", due=NOW + timedelta(hours=20), qty=8 * h),
        wo("WO-4", due=NOW - timedelta(hours=2), qty=1 * h),
        wo("WO-5", due=NOW + timedelta(hours=3), qty=2.5 * h, setup_s=0.5 * h),
    ]
    queue = dispatch(orders, now=NOW, rule=DispatchRule.CRITICAL_RATIO)["press-01"]
    assert [(r.number, r.rule_value) for r in queue.ranked] == [
        ("WO-4", -2.0),
        ("WO-2", 0.8),
        ("WO-5", 1.0),
        ("WO-1", 2.0),
        ("WO-3", 2.5),
    ]


def test_critical_ratio_counts_working_time_when_given_a_calendar() -> None:
    # Plant works 08:00-16:00 UTC. Due tomorrow 10:00 = 8 h + 2 h = 10 working hours left.
    cal = WorkingCalendar("UTC", (Shift("day", time(8), time(16)),))
    order = wo("WO-1", due=NOW + timedelta(hours=26), qty=5 * 3600.0)
    queue = dispatch([order], now=NOW, rule=DispatchRule.CRITICAL_RATIO, calendar=cal)
    assert queue["press-01"].ranked[0].rule_value == 2.0
    wall = dispatch([order], now=NOW, rule=DispatchRule.CRITICAL_RATIO)
    assert wall["press-01"].ranked[0].rule_value == 26 / 5


def test_spt_uses_learned_cycle_and_skips_setup_of_started_orders() -> None:
    orders = [
        wo("WO-1", qty=100, setup_s=500),  # 500 + 100 × 2 = 700 s
        wo("WO-2", qty=400, status="in_progress", qty_good=100, setup_s=500),  # 300 × 2 = 600 s
        wo("WO-3", qty=50, setup_s=1000),  # 1000 + 100 = 1100 s
    ]
    queue = dispatch(
        orders, now=NOW, rule=DispatchRule.SPT, cycle_s={("press-01", "bracket"): 2.0}
    )["press-01"]
    assert [(r.number, r.processing_s) for r in queue.ranked] == [
        ("WO-2", 600.0),
        ("WO-1", 700.0),
        ("WO-3", 1100.0),
    ]


def test_fifo_tie_break_release_time_then_natural_number() -> None:
    due = NOW + DAY
    orders = [
        wo("WO-10", due=due, released_at=NOW - DAY),
        wo("WO-9", due=due, released_at=NOW - DAY),
        wo("WO-2", due=due, released_at=NOW - 2 * DAY),
        wo("WO-1", due=due, released_at=None),
    ]
    assert ranked(orders) == ["WO-2", "WO-9", "WO-10", "WO-1"]
    assert ranked(orders, rule=DispatchRule.FIFO) == ["WO-2", "WO-9", "WO-10", "WO-1"]


def test_fifo_rule_ignores_due_dates() -> None:
    orders = [
        wo("WO-1", due=NOW + 9 * DAY, released_at=NOW - 3 * DAY),
        wo("WO-2", due=NOW + DAY, released_at=NOW - DAY),
    ]
    assert ranked(orders, rule=DispatchRule.FIFO) == ["WO-1", "WO-2"]
    assert ranked(orders) == ["WO-2", "WO-1"]


def test_only_ready_orders_are_dispatched() -> None:
    orders = [wo(f"WO-{i}", status=s) for i, s in enumerate(sorted(KNOWN_STATUSES))]
    numbers = {o.number: o.status for o in orders}
    result = {numbers[n] for n in ranked(orders)}
    assert result == {"released", "in_progress", "paused"}


def test_predecessor_not_done_holds_the_order() -> None:
    orders = [wo("WO-1", predecessors=("WO-0",)), wo("WO-2", predecessors=("WO-0", "WO-X"))]
    queue = dispatch(orders, now=NOW, done={"WO-0"})["press-01"]
    assert [r.number for r in queue.ranked] == ["WO-1"]
    assert [(h.number, h.reasons) for h in queue.held] == [("WO-2", ("predecessor WO-X not done",))]


def test_stock_is_allocated_in_rank_order() -> None:
    steel = (ComponentNeed("steel", 2.0),)
    orders = [
        wo("WO-1", qty=30, due=NOW + DAY, components=steel),  # needs 60
        wo("WO-2", qty=30, due=NOW + 2 * DAY, components=steel),  # needs 60, 40 left
        wo("WO-3", qty=20, due=NOW + 3 * DAY, components=steel),  # needs 40, 40 left
    ]
    queue = dispatch(orders, now=NOW, stock={"steel": 100.0})["press-01"]
    assert [r.number for r in queue.ranked] == ["WO-1", "WO-3"]
    assert [(h.number, h.reasons) for h in queue.held] == [
        ("WO-2", ("component steel short: needs 60, 40 available",))
    ]
    assert queue.sequence == ("WO-1", "WO-3", "WO-2")


def test_availability_flag_overrides_stock() -> None:
    orders = [
        wo("WO-1", components=(ComponentNeed("steel", 1.0),), components_available=True),
        wo("WO-2", components_available=False),
    ]
    queue = dispatch(orders, now=NOW, stock={})["press-01"]
    assert [r.number for r in queue.ranked] == ["WO-1"]
    assert queue.held[0].reasons == ("components not available",)
    # Without stock information, components count as available.
    assert [r.number for r in dispatch(orders[:1], now=NOW)["press-01"].ranked] == ["WO-1"]


def test_orders_are_grouped_per_machine() -> None:
    orders = [wo("WO-1", machine="lathe-02"), wo("WO-2"), wo("WO-3", machine="lathe-02")]
    queues = dispatch(orders, now=NOW)
    assert sorted(queues) == ["lathe-02", "press-01"]
    assert [(r.number, r.rank) for r in queues["lathe-02"].ranked] == [("WO-1", 1), ("WO-3", 2)]


def test_reasons_explain_each_position() -> None:
    due = NOW + DAY
    orders = [
        wo("WO-1", priority_class="A", due=due, expedite=True, released_at=NOW - DAY),
        wo("WO-2", priority_class="A", due=due, released_at=NOW - DAY),
        wo("WO-3", priority_class="B", due=due, released_at=NOW - DAY),
        wo("WO-4", priority_class="B", due=due + DAY, released_at=NOW - DAY),
        wo("WO-5", priority_class="B", due=due + DAY, released_at=NOW),
        wo("WO-6", priority_class="B", due=due + DAY, released_at=NOW),
        wo("WO-7", priority_class="C", due=due, released_at=NOW, priority=2),
        wo("WO-8", priority_class="C", due=due, released_at=NOW, priority=1),
    ]
    reasons = [r.reason for r in dispatch(orders, now=NOW)["press-01"].ranked]
    assert reasons == [
        "expedite, class A, due 2026-11-03 08:00Z, released 2026-11-01 08:00Z; first in queue",
        "class A, due 2026-11-03 08:00Z, released 2026-11-01 08:00Z; "
        "after WO-1, which is expedited",
        "class B, due 2026-11-03 08:00Z, released 2026-11-01 08:00Z; "
        "after WO-2: class A beats class B",
        "class B, due 2026-11-04 08:00Z, released 2026-11-01 08:00Z; "
        "after WO-3: due 2026-11-03 08:00Z is earlier than 2026-11-04 08:00Z",
        "class B, due 2026-11-04 08:00Z, released 2026-11-02 08:00Z; "
        "after WO-4: same class and due date; FIFO: released first (2026-11-01 08:00Z)",
        "class B, due 2026-11-04 08:00Z, released 2026-11-02 08:00Z; "
        "after WO-5: same class and due date and release time; FIFO: lower order number",
        "class C, priority 2, due 2026-11-03 08:00Z, released 2026-11-02 08:00Z; "
        "after WO-6: class B beats class C",
        "class C, priority 1, due 2026-11-03 08:00Z, released 2026-11-02 08:00Z; "
        "after WO-7: priority 2 beats 1",
    ]


def test_natural_key() -> None:
    assert sorted(["WO-10", "WO-9", "WO-100", "A-1"], key=natural_key) == [
        "A-1",
        "WO-9",
        "WO-10",
        "WO-100",
    ]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now"):
        dispatch([wo("WO-1")], now=NOW.replace(tzinfo=None))


# --- properties ----------------------------------------------------------------------------


@st.composite
def order_sets(draw: st.DrawFn) -> list[OpenOrder]:
    count = draw(st.integers(0, 12))
    orders = []
    for i in range(count):
        orders.append(
            wo(
                f"WO-{i}",
                machine=draw(st.sampled_from(["press-01", "lathe-02"])),
                status=draw(st.sampled_from(sorted(KNOWN_STATUSES))),
                qty=float(draw(st.integers(1, 500))),
                due=draw(st.none() | st.integers(-48, 96).map(lambda h: NOW + timedelta(hours=h))),
                released_at=draw(
                    st.none() | st.integers(-96, 0).map(lambda h: NOW + timedelta(hours=h))
                ),
                expedite=draw(st.booleans()),
                priority_class=draw(st.sampled_from([None, "A", "B", "C"])),
                predecessors=tuple(
                    draw(st.lists(st.sampled_from([f"WO-{j}" for j in range(count)]), max_size=2))
                ),
                components=(ComponentNeed("steel", float(draw(st.integers(0, 3)))),),
            )
        )
    return orders


@settings(max_examples=100, deadline=None)
@given(orders=order_sets(), rule=st.sampled_from(list(DispatchRule)), stock=st.floats(0, 2000))
def test_dispatch_is_a_permutation_of_the_ready_orders(
    orders: list[OpenOrder], rule: DispatchRule, stock: float
) -> None:
    queues = dispatch(orders, now=NOW, rule=rule, stock={"steel": stock}, done={"WO-0", "WO-1"})
    for machine, queue in queues.items():
        ready = sorted(o.number for o in orders if o.is_ready and o.machine == machine)
        assert sorted(queue.sequence) == ready
        assert [r.rank for r in queue.ranked] == list(range(1, len(queue.ranked) + 1))
        keys = [
            (not o.expedite, "ABC".index(o.priority_class) if o.priority_class else 3)
            for o in (next(x for x in orders if x.number == r.number) for r in queue.ranked)
        ]
        assert keys == sorted(keys)  # expedite, then class, never violated
    assert sum(len(q.sequence) for q in queues.values()) == sum(o.is_ready for o in orders)


def test_started_orders_claim_stock_first() -> None:
    steel = (ComponentNeed("steel", 1.0),)
    orders = [
        wo("WO-1", qty=80, due=NOW + DAY, components=steel),
        wo("WO-2", qty=80, due=NOW + 2 * DAY, status="in_progress", components=steel),
    ]
    queue = dispatch(orders, now=NOW, stock={"steel": 100.0})["press-01"]
    assert [r.number for r in queue.ranked] == ["WO-2"]
    assert [h.number for h in queue.held] == ["WO-1"]


def test_duplicate_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        dispatch([wo("WO-1"), wo("WO-1")], now=NOW)
