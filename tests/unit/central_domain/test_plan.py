"""build_plan end to end: the worked queue of test_eta, with the cycle learned from reports,
the efficiency from OEE, components from stock lots, and the alerts that follow."""

from __future__ import annotations

from dataclasses import replace

import pytest

from central.domain.alerts import ItemPolicy
from central.domain.dispatch import DispatchRule
from central.domain.errors import InvalidInput
from central.domain.eta import SalesOrder
from central.domain.orders import ComponentNeed
from central.domain.plan import PlanSettings, build_plan, effective_cycles
from central.domain.stock import StockLot
from central.domain.throughput import Efficiency, OeeReport, ProductionReport
from tests.unit.central_domain.factories import TWO_SHIFTS, paris, utc, wo

NOW = paris(2026, 10, 23, 15)  # Friday 15:00 CEST = 13:00Z
STEEL = ComponentNeed("steel", 0.5)
ORDERS = [
    wo(
        "WO-1",
        status="in_progress",
        qty=2000,
        qty_good=800,
        due=paris(2026, 10, 23, 20),
        released_at=utc(2026, 10, 22),
        sales_order="SO-2",
        components=(ComponentNeed("steel", 0.5, consumed=450),),
    ),
    wo(
        "WO-2",
        qty=3000,
        setup_s=1800,
        due=paris(2026, 10, 26, 12),
        released_at=utc(2026, 10, 21),
        sales_order="SO-1",
        components=(STEEL,),
    ),
    wo(
        "WO-3",
        qty=4800,
        setup_s=1800,
        due=paris(2026, 10, 26, 18),
        released_at=utc(2026, 10, 20),
        sales_order="SO-1",
        predecessors=("WO-0",),
        components=(STEEL,),
    ),
    wo("WO-0", status="completed", qty=10),
    wo("WO-8", status="draft", qty=10),
]
# 6300 s of run for 1050 parts → learned 6.0 s/part.
PRODUCTION = [
    ProductionReport("press-01", "bracket", utc(2026, 10, 23, 10), 480, 20, 3000),
    ProductionReport("press-01", "bracket", utc(2026, 10, 23, 12), 550, 0, 3300),
]
# Availability 2880 / 3600 = 0.8 (performance 0.9 is already inside the learned cycle).
OEE = [OeeReport("press-01", utc(2026, 10, 23, 12), 3600, 2880, 0.9)]
SALES = [
    SalesOrder("SO-1", requested=paris(2026, 10, 26, 16), promised=paris(2026, 10, 27, 10)),
    SalesOrder("SO-2", requested=paris(2026, 10, 23, 16)),
]


def plan(**overrides: object):  # type: ignore[no-untyped-def]
    kwargs: dict[str, object] = {
        "now": NOW,
        "calendar": TWO_SHIFTS,
        "production": PRODUCTION,
        "oee": OEE,
        "stock": [StockLot("steel", "L1", 1000), StockLot("steel", "L2", 1500)],
        "sales_orders": SALES,
        "policies": [ItemPolicy("steel", min_order_qty=500, order_multiple=250)],
    }
    kwargs.update(overrides)
    return build_plan(ORDERS, **kwargs)  # type: ignore[arg-type]


def test_worked_plan() -> None:
    result = plan()
    # 6.0 s learned ÷ 0.8 availability = 7.5 s/part: the queue of test_eta.
    assert result.cycle_s == {("press-01", "bracket"): 7.5}
    queue = result.queues["press-01"]
    # EDD beats the release order (WO-3 was released first). Steel 2500 kg: WO-1 takes 550,
    # WO-2 1500, 450 left for WO-3's 2400 → WO-3 held, still scheduled behind.
    assert [r.number for r in queue.ranked] == ["WO-1", "WO-2"]
    assert [(h.number, h.reasons) for h in queue.held] == [
        ("WO-3", ("component steel short: needs 2400, 450 available",))
    ]
    etas = result.etas
    assert sorted(etas) == ["WO-1", "WO-2", "WO-3"]
    assert [etas[n].eta for n in ("WO-1", "WO-2", "WO-3")] == [
        utc(2026, 10, 23, 15, 30),
        utc(2026, 10, 26, 7, 45),
        utc(2026, 10, 26, 19, 15),
    ]
    assert etas["WO-3"].notes == ("component steel short: needs 2400, 450 available",)
    assert result.sales_orders["SO-1"].eta == utc(2026, 10, 26, 19, 15)
    assert result.sales_orders["SO-1"].late is False
    # Late: WO-3 by 2.25 h against its due date, SO-2 (= WO-1) by 1.5 h against the request.
    assert [(a.number, a.late_s, a.days_late) for a in result.late] == [
        ("WO-3", 2.25 * 3600, 1),
        ("SO-2", 1.5 * 3600, 1),
    ]
    # Shortage: 4450 − 2500 = 1950 → 2000 (min 500, multiple 250), needed at WO-3's start.
    [steel] = result.shortages
    assert (steel.item, steel.shortage, steel.suggested_qty) == ("steel", 1950.0, 2000.0)
    assert steel.needed_by == utc(2026, 10, 26, 7, 45)
    assert steel.orders_short == ("WO-3",)


def test_fifo_rule_and_efficiency_floor() -> None:
    # A bad hour: availability 0.1, floored at 0.5 → 12 s/part.
    bad = [OeeReport("press-01", utc(2026, 10, 23, 12), 3600, 360, 0.9)]
    result = plan(oee=bad, settings=PlanSettings(rule=DispatchRule.FIFO, min_efficiency=0.5))
    assert result.cycle_s == {("press-01", "bracket"): 12.0}
    # FIFO ranks WO-3 (released 20th) before WO-2 (21st) and WO-1 (22nd), but WO-1 has started
    # and claims its 550 kg of steel first; WO-3 then takes 1950 − 2400 < 0: held; WO-2 gets
    # 1500 of the 1950.
    queue = result.queues["press-01"]
    assert [r.number for r in queue.ranked] == ["WO-2", "WO-1"]
    assert [(h.number, h.reasons) for h in queue.held] == [
        ("WO-3", ("component steel short: needs 2400, 1950 available",))
    ]
    # WO-2: 1800 + 3000 × 12 = 37800 s = 10.5 h from Fri 15:00: 6.5 h on Friday, 4 h on
    # Monday → 10:00 CET = 09:00Z, the start of the break: WO-1 starts after it, 09:30Z.
    assert result.etas["WO-2"].eta == utc(2026, 10, 26, 9)
    assert result.etas["WO-1"].start == utc(2026, 10, 26, 9, 30)


def test_without_reports_the_routing_cycle_and_default_efficiency_apply() -> None:
    orders = [replace(o, ideal_cycle_s=4.0) for o in ORDERS]
    cycles = effective_cycles(orders, [], [], now=NOW)
    assert cycles == {("press-01", "bracket"): 4.0}
    cautious = PlanSettings(default_efficiency=Efficiency(0.8, 0.5, "default"))
    assert effective_cycles(orders, [], [], now=NOW, settings=cautious) == {
        ("press-01", "bracket"): 10.0
    }


def test_plan_is_pure() -> None:
    assert plan() == plan()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"PlanSettings\.min_efficiency"):
        PlanSettings(min_efficiency=1.5)
