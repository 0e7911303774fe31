"""ETA walk: a hand-computed queue across a weekend and a DST change, precedence, sales
orders, and the monotone property."""

from __future__ import annotations

import itertools
from datetime import time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.domain.calendar import Shift, WorkingCalendar
from central.domain.errors import InvalidInput
from central.domain.eta import SalesOrder, sales_order_etas, schedule_queues
from central.domain.orders import OpenOrder
from tests.unit.central_domain.factories import TWO_SHIFTS, paris, utc, wo

H = 3600
NOW = paris(2026, 10, 23, 15)  # Friday 15:00 CEST = 13:00Z; clocks go back on Sunday 25th
CYCLE = {("press-01", "bracket"): 7.5}
QUEUE = [
    # in progress: 1200 left × 7.5 s = 9000 s = 2.5 h (already set up)
    wo(
        "WO-1",
        status="in_progress",
        qty=2000,
        qty_good=800,
        setup_s=1800,
        due=paris(2026, 10, 23, 20),
    ),
    # 1800 s setup + 3000 × 7.5 s = 24300 s = 6.75 h
    wo("WO-2", qty=3000, setup_s=1800, due=paris(2026, 10, 26, 12)),
    # 1800 s setup + 4800 × 7.5 s = 37800 s = 10.5 h
    wo("WO-3", qty=4800, setup_s=1800, due=paris(2026, 10, 26, 18)),
]


def test_queue_of_three_across_a_weekend_and_a_dst_change() -> None:
    etas = schedule_queues(
        QUEUE, {"press-01": ["WO-1", "WO-2", "WO-3"]}, now=NOW, calendar=TWO_SHIFTS, cycle_s=CYCLE
    )
    # Calendar: Mon-Fri 06:00-10:00, 10:30-18:00, 18:30-22:00 local.
    # WO-1: Fri 15:00 + 2.5 h → Fri 17:30 CEST = 15:30Z. Due 20:00 CEST = 18:00Z: 2.5 h early.
    # WO-2: Fri 17:30-18:00 (0.5 h) + 18:30-22:00 (3.5 h) = 4 h; 2.75 h left → Monday, now
    #       CET: 06:00 + 2.75 h = 08:45 CET = 07:45Z. Due Mon 12:00 CET = 11:00Z: 3.25 h early.
    # WO-3: Mon 08:45-10:00 (1.25) + 10:30-18:00 (7.5) = 8.75 h; 1.75 h left from 18:30
    #       → 20:15 CET = 19:15Z. Due 18:00 CET = 17:00Z: 2.25 h late.
    one, two, three = etas["WO-1"], etas["WO-2"], etas["WO-3"]
    assert (one.start, one.eta, one.work_s) == (
        utc(2026, 10, 23, 13),
        utc(2026, 10, 23, 15, 30),
        9000,
    )
    assert (two.start, two.eta, two.work_s) == (
        utc(2026, 10, 23, 15, 30),
        utc(2026, 10, 26, 7, 45),
        24300,
    )
    assert (three.start, three.eta, three.work_s) == (
        utc(2026, 10, 26, 7, 45),
        utc(2026, 10, 26, 19, 15),
        37800,
    )
    assert [(e.position, e.late, e.slack_s) for e in (one, two, three)] == [
        (1, False, 2.5 * H),
        (2, False, 3.25 * H),
        (3, True, -2.25 * H),
    ]
    assert three.cycle_s == 7.5


def test_routing_cycle_is_the_fallback_and_start_waits_for_working_time() -> None:
    saturday = paris(2026, 10, 24, 9)
    order = wo("WO-1", qty=100, ideal_cycle_s=36.0)  # 3600 s at the routing's 36 s
    eta = schedule_queues([order], {"press-01": ["WO-1"]}, now=saturday, calendar=TWO_SHIFTS)[
        "WO-1"
    ]
    # Monday 06:00 CET = 05:00Z, one hour of work → 06:00Z.
    assert (eta.start, eta.eta, eta.cycle_s) == (utc(2026, 10, 26, 5), utc(2026, 10, 26, 6), 36.0)
    assert (eta.due, eta.late, eta.slack_s) == (None, False, None)


def test_predecessor_on_another_machine_delays_the_start() -> None:
    cal = WorkingCalendar.always()
    now = utc(2026, 11, 2)
    orders = [
        wo("WO-1", machine="lathe-02", qty=3 * H),  # 3 h on the lathe
        wo("WO-2", qty=1 * H, predecessors=("WO-1",)),  # waits for WO-1
        wo("WO-3", qty=1 * H),
    ]
    etas = schedule_queues(
        orders, {"press-01": ["WO-2", "WO-3"], "lathe-02": ["WO-1"]}, now=now, calendar=cal
    )
    assert etas["WO-2"].start == now + timedelta(hours=3)
    assert etas["WO-2"].eta == now + timedelta(hours=4)
    # The press does not overtake: WO-3 follows WO-2 in queue order.
    assert etas["WO-3"].start == now + timedelta(hours=4)


def test_same_machine_predecessor_is_moved_ahead_and_unknown_ones_noted() -> None:
    cal = WorkingCalendar.always()
    now = utc(2026, 11, 2)
    orders = [
        wo("WO-2", qty=H, predecessors=("WO-1", "WO-0", "WO-9")),
        wo("WO-1", qty=H),
    ]
    etas = schedule_queues(
        orders,
        {"press-01": ["WO-2", "WO-1"]},
        now=now,
        calendar=cal,
        done={"WO-0"},
        notes={"WO-2": ("held: predecessor WO-1 not done",)},
    )
    assert (etas["WO-1"].position, etas["WO-2"].position) == (1, 2)
    assert etas["WO-2"].eta == now + timedelta(hours=2)
    assert etas["WO-2"].notes == (
        "held: predecessor WO-1 not done",
        "predecessor WO-9 not scheduled",
    )


def test_cross_machine_cycle_is_broken_and_noted() -> None:
    # WO-1 (press) needs WO-4 (lathe), which is queued behind WO-3, which needs WO-2, which is
    # queued behind WO-1 on the press: no order can wait for the others. The blocked head with
    # the earliest queue position starts anyway; on a tie the lowest machine id (lathe-02).
    cal = WorkingCalendar.always()
    now = utc(2026, 11, 2)
    orders = [
        wo("WO-1", qty=H, predecessors=("WO-4",)),
        wo("WO-2", qty=H),
        wo("WO-3", machine="lathe-02", qty=H, predecessors=("WO-2",)),
        wo("WO-4", machine="lathe-02", qty=H),
    ]
    etas = schedule_queues(
        orders,
        {"press-01": ["WO-1", "WO-2"], "lathe-02": ["WO-3", "WO-4"]},
        now=now,
        calendar=cal,
    )
    assert etas["WO-3"].notes == ("started before predecessor WO-2 (cyclic queue order)",)
    # lathe: WO-3 0-1 h, WO-4 1-2 h; press: WO-1 waits for WO-4: 2-3 h, then WO-2 3-4 h.
    assert [(etas[n].start, etas[n].eta) for n in ("WO-3", "WO-4", "WO-1", "WO-2")] == [
        (now + timedelta(hours=h), now + timedelta(hours=h + 1)) for h in range(4)
    ]
    assert etas["WO-1"].notes == ()


def test_unknown_order_in_a_sequence_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"sequences\[press-01\]"):
        schedule_queues([], {"press-01": ["WO-7"]}, now=NOW, calendar=TWO_SHIFTS)


def test_sales_order_eta_is_the_latest_of_its_work_orders() -> None:
    orders = [
        *(o.__class__(**{**o.__dict__, "sales_order": "SO-1"}) for o in QUEUE[1:]),
        OpenOrder(**{**QUEUE[0].__dict__, "sales_order": "SO-2"}),
        wo("WO-4", status="draft", sales_order="SO-3"),
        wo("WO-5", status="completed", sales_order="SO-2"),
    ]
    etas = schedule_queues(
        orders, {"press-01": ["WO-1", "WO-2", "WO-3"]}, now=NOW, calendar=TWO_SHIFTS, cycle_s=CYCLE
    )
    sales = sales_order_etas(
        [
            SalesOrder("SO-1", requested=paris(2026, 10, 26, 16), promised=paris(2026, 10, 27, 10)),
            SalesOrder("SO-2", requested=paris(2026, 10, 23, 16)),
            SalesOrder("SO-3"),
        ],
        orders,
        etas,
    )
    so1, so2, so3 = sales["SO-1"], sales["SO-2"], sales["SO-3"]
    # SO-1 = WO-3's 19:15Z on Monday; promised Tue 10:00 CET = 09:00Z → 13.75 h to spare
    # (it would be late against the requested date; the promise is what binds).
    assert (so1.eta, so1.commitment_kind, so1.late, so1.slack_s) == (
        utc(2026, 10, 26, 19, 15),
        "promised",
        False,
        13.75 * H,
    )
    assert so1.work_orders == ("WO-2", "WO-3")
    # SO-2: WO-1 at 15:30Z vs requested 16:00 CEST = 14:00Z → 1.5 h late; WO-5 is done.
    assert (so2.eta, so2.commitment_kind, so2.late, so2.slack_s) == (
        utc(2026, 10, 23, 15, 30),
        "requested",
        True,
        -1.5 * H,
    )
    assert so2.unplanned == ()
    # SO-3 has only a draft: no ETA yet, and it says which order is missing.
    assert (so3.eta, so3.late, so3.unplanned, so3.commitment) == (None, False, ("WO-4",), None)


@settings(max_examples=100, deadline=None)
@given(
    quantities=st.lists(st.integers(0, 20_000), min_size=1, max_size=8),
    setups=st.lists(st.integers(0, 7200), min_size=8, max_size=8),
    start_offset_h=st.integers(0, 24 * 14),
    cycle=st.floats(0.5, 60.0),
)
def test_eta_is_monotone_in_queue_position(
    quantities: list[int], setups: list[int], start_offset_h: int, cycle: float
) -> None:
    now = NOW + timedelta(hours=start_offset_h)
    orders = [
        wo(f"WO-{i}", qty=float(q), setup_s=float(setups[i])) for i, q in enumerate(quantities)
    ]
    sequence = [o.number for o in orders]
    etas = schedule_queues(
        orders,
        {"press-01": sequence},
        now=now,
        calendar=TWO_SHIFTS,
        cycle_s={("press-01", "bracket"): cycle},
    )
    ends = [etas[n].eta for n in sequence]
    assert ends == sorted(ends)
    assert all(etas[n].start >= now for n in sequence)
    for prev, nxt in itertools.pairwise(sequence):
        assert etas[nxt].start >= etas[prev].eta


def test_night_only_calendar_eta() -> None:
    # A machine that runs only at night: 22:00-06:00 UTC. 10 h of work from Monday 12:00.
    cal = WorkingCalendar("UTC", (Shift("night", time(22), time(6)),))
    eta = schedule_queues(
        [wo("WO-1", qty=10 * H)], {"press-01": ["WO-1"]}, now=utc(2026, 11, 2, 12), calendar=cal
    )["WO-1"]
    assert (eta.start, eta.eta) == (
        utc(2026, 11, 2, 22),
        utc(2026, 11, 3, 22, 0) + timedelta(hours=2),
    )
