"""Late-order alerts and material shortage → purchase proposals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.domain.alerts import (
    ItemPolicy,
    late_alerts,
    material_shortages,
    suggested_qty,
)
from central.domain.errors import InvalidInput
from central.domain.eta import OrderEta, SalesOrderEta
from central.domain.orders import ComponentNeed
from central.domain.stock import StockLot, stock_by_item
from tests.unit.central_domain.factories import utc, wo

NOW = utc(2026, 11, 2, 8)
H = 3600


def eta(number: str, end_h: float, due_h: float | None) -> OrderEta:
    end = NOW + timedelta(hours=end_h)
    due = NOW + timedelta(hours=due_h) if due_h is not None else None
    slack = (due - end).total_seconds() if due else None
    return OrderEta(number, "press-01", 1, NOW, end, 0, 1, due, bool(slack and slack < 0), slack)


def test_late_alerts_with_days_late_most_late_first() -> None:
    so = SalesOrderEta(
        "SO-1",
        NOW + timedelta(hours=60),
        NOW + timedelta(hours=10),
        "promised",
        True,
        -50 * H,
        ("WO-3",),
        (),
    )
    alerts = late_alerts(
        [eta("WO-1", 5, 10), eta("WO-2", 12, 10), eta("WO-3", 60, 30), eta("WO-4", 99, None)],
        [so],
    )
    assert [(a.kind, a.number, a.late_s, a.days_late, a.commitment_kind) for a in alerts] == [
        ("sales_order", "SO-1", 50 * H, 3, "promised"),  # 2 days 2 h → 3 started days
        ("work_order", "WO-3", 30 * H, 2, "due"),
        ("work_order", "WO-2", 2 * H, 1, "due"),
    ]
    assert alerts[0].eta == NOW + timedelta(hours=60)
    assert alerts[0].commitment == NOW + timedelta(hours=10)


def test_stock_is_summed_over_lots() -> None:
    lots = [StockLot("steel", "L1", 1000), StockLot("steel", "L2", 1500), StockLot("oil", "L9", 3)]
    assert stock_by_item(lots) == {"steel": 2500.0, "oil": 3.0}


def test_shortage_proposal_with_min_qty_and_multiple() -> None:
    # steel 0.5 kg/unit. WO-1 in progress: 2000 units, 800 good, 450 kg consumed → 50 kg sit at
    # the machine unused (450 − 0.5 × 800), need 0.5 × 1200 − 50 = 550. WO-2: 1500. WO-3: 2400.
    # Required 4450, on hand 2500 → short 1950; min order 500, multiple 250 → 8 × 250 = 2000.
    steel = ComponentNeed("steel", 0.5)
    orders = [
        wo(
            "WO-1",
            status="in_progress",
            qty=2000,
            qty_good=800,
            components=(ComponentNeed("steel", 0.5, consumed=450),),
        ),
        wo("WO-2", qty=3000, components=(steel,)),
        wo("WO-3", qty=4800, components=(steel, ComponentNeed("oil", 0.001))),
        wo("WO-4", status="draft", qty=9999, components=(steel,)),  # not released: no need
        wo("WO-5", status="completed", qty=10, components=(steel,)),
    ]
    starts = {"WO-1": NOW, "WO-2": NOW + timedelta(hours=2), "WO-3": NOW + timedelta(hours=70)}
    proposals = material_shortages(
        orders,
        {"steel": 2500.0, "oil": 10.0},
        now=NOW,
        starts=starts,
        policies={"steel": ItemPolicy("steel", min_order_qty=500, order_multiple=250)},
    )
    assert len(proposals) == 1  # oil: 4.8 needed, 10 on hand
    steel_proposal = proposals[0]
    assert (steel_proposal.item, steel_proposal.required, steel_proposal.shortage) == (
        "steel",
        4450.0,
        1950.0,
    )
    assert steel_proposal.suggested_qty == 2000.0
    # Stock covers WO-1 and WO-2 (2050 ≤ 2500); it runs out at WO-3's start.
    assert steel_proposal.needed_by == NOW + timedelta(hours=70)
    assert steel_proposal.orders_short == ("WO-3",)


def test_needed_by_is_now_for_orders_without_a_planned_start_and_incoming_counts() -> None:
    orders = [wo("WO-1", qty=100, components=(ComponentNeed("steel", 1.0),))]
    proposals = material_shortages(orders, {"steel": -20.0}, now=NOW)
    # Negative book stock counts as 0: short 100.
    assert [(p.shortage, p.needed_by, p.on_hand) for p in proposals] == [(100.0, NOW, -20.0)]
    assert material_shortages(orders, {"steel": 40.0}, now=NOW, incoming={"steel": 60.0}) == ()
    partly = material_shortages(orders, {"steel": 40.0}, now=NOW, incoming={"steel": 30.0})
    assert [(round(p.shortage, 9), p.incoming) for p in partly] == [(30.0, 30.0)]


def test_unused_issue_covers_a_finished_order() -> None:
    # Everything issued up front: 2 kg/unit × 100 = 200 consumed, 40 made → nothing more needed.
    order = wo(
        "WO-1",
        status="in_progress",
        qty=100,
        qty_good=40,
        components=(ComponentNeed("steel", 2.0, consumed=200),),
    )
    assert order.component_needs() == {"steel": 0.0}
    assert material_shortages([order], {}, now=NOW) == ()


@pytest.mark.parametrize(
    ("shortage", "policy", "expected"),
    [
        (1950, None, 1950),
        (10, ItemPolicy("x", min_order_qty=100, order_multiple=30), 120),
        (10, ItemPolicy("x", min_order_qty=100), 100),
        (130, ItemPolicy("x", min_order_qty=100), 130),
        (251, ItemPolicy("x", order_multiple=250), 500),
        (250, ItemPolicy("x", order_multiple=250), 250),
        (3 * 0.1, ItemPolicy("x", order_multiple=0.1), 0.3),  # float dust does not add a pack
        (0.35, ItemPolicy("x", order_multiple=0.1), 0.4),
    ],
)
def test_suggested_qty(shortage: float, policy: ItemPolicy | None, expected: float) -> None:
    assert suggested_qty(shortage, policy) == expected


def test_bad_policy_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"ItemPolicy\[steel\].order_multiple"):
        ItemPolicy("steel", order_multiple=0)
    with pytest.raises(InvalidInput, match=r"ComponentNeed\[steel\].qty_per_unit"):
        ComponentNeed("steel", -1)
