from __future__ import annotations

import asyncio

import pytest

from edge.tablet.errors import InvalidAction, UnknownMachine, UnknownStop
from edge.tablet.models import OrderAction, OrderStatus
from tests.unit.tablet import plant


async def test_double_tap_stores_once_even_concurrently() -> None:
    svc = plant.services()
    calls = [
        svc.declare_counts(
            machine_id="lathe-02", good=0, scrap=3, scrap_reason="burr", operator="op-17", key="k1"
        )
        for _ in range(3)
    ]
    receipts = await asyncio.gather(*calls)
    assert [r.duplicate for r in receipts].count(False) == 1
    assert {r.seq for r in receipts} == {1}
    assert len(svc.outbox) == 1
    assert (await svc.dispatch_list("lathe-02"))[0].qty_scrap == 4 + 3
    other = await svc.declare_counts(
        machine_id="lathe-02", good=0, scrap=1, scrap_reason="burr", operator="op-17", key="k2"
    )
    assert not other.duplicate and other.seq == 2


async def test_failed_action_does_not_burn_the_key() -> None:
    svc = plant.services()
    with pytest.raises(InvalidAction):
        await svc.order_action(
            machine_id="press-01",
            order="WO-1001",
            action=OrderAction.pause,
            operator="op-17",
            key="k",
        )
    ok = await svc.order_action(
        machine_id="press-01", order="WO-1001", action=OrderAction.start, operator="op-17", key="k"
    )
    assert not ok.duplicate and svc.outbox[0][2]["action"] == "start_order"


async def test_order_lifecycle_updates_tile_and_specs() -> None:
    svc = plant.services()
    assert await svc.quality_specs("press-01") == ()
    for i, action in enumerate((OrderAction.start, OrderAction.pause, OrderAction.resume)):
        await svc.order_action(
            machine_id="press-01", order="WO-1001", action=action, operator="op-17", key=f"k{i}"
        )
    tile = await svc.machine("press-01")
    assert (tile.active_order, tile.item, tile.target_qty) == ("WO-1001", "BRK-220", 5000)
    assert [s.characteristic for s in await svc.quality_specs("press-01")] == ["diameter", "height"]
    with pytest.raises(InvalidAction):  # one active order per machine
        await svc.order_action(
            machine_id="press-01",
            order="WO-1002",
            action=OrderAction.start,
            operator="op-17",
            key="k9",
        )
    await svc.order_action(
        machine_id="press-01",
        order="WO-1001",
        action=OrderAction.finish,
        operator="op-17",
        key="k3",
    )
    statuses = [d.status for d in await svc.dispatch_list("press-01")]
    assert statuses == [OrderStatus.completed, OrderStatus.released]
    assert (await svc.machine("press-01")).active_order is None


async def test_stop_is_justified_once_and_quality_judged() -> None:
    svc = plant.services()
    await svc.justify_stop(
        machine_id="press-01", stop_id="s-1", reason="mech.jam", operator="op-23", key="a"
    )
    assert [s.id for s in await svc.pending_stops("press-01")] == ["s-2"]
    with pytest.raises(UnknownStop):
        await svc.justify_stop(
            machine_id="press-01", stop_id="s-1", reason="mech.jam", operator="op-23", key="b"
        )
    await svc.order_action(
        machine_id="press-01", order="WO-1001", action=OrderAction.start, operator="op-23", key="c"
    )
    receipt = await svc.record_quality(
        machine_id="press-01", characteristic="diameter", value=10.2, operator="op-23", key="d"
    )
    assert receipt.summary["verdict"] == "fail"
    await svc.record_quality(
        machine_id="press-01", characteristic="diameter", value=10.0, operator="op-23", key="e"
    )
    results = await svc.quality_results("press-01")
    assert [(r.value, r.verdict) for r in results] == [(10.0, "pass"), (10.2, "fail")]
    with pytest.raises(UnknownMachine):
        await svc.machine("nope")
