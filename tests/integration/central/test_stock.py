"""Goods receipts and adjustments: stock by item and lot, their moves, and what they change
downstream (consumption falls from the received level, a held order becomes dispatchable)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.integration.central.conftest import EDGE, Tokens
from tests.integration.central.plant import NOW, ok, seed, work_order
from tests.integration.central.records import body, record

pytestmark = pytest.mark.integration


def receipt(qty: float, lot: str = "HEAT-1", **extra: Any) -> dict[str, Any]:
    return {"item": "STEEL", "lot": lot, "qty": qty, "uom": "kg", **extra}


async def steel(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, float]:
    rows = await ok(await client.get("/api/v1/stock?item=STEEL", headers=auth))
    return {r["lot"]: r["qty"] for r in rows}


async def test_receipts_add_to_the_lot_and_consumption_draws_from_it(
    client: httpx.AsyncClient, planner: dict[str, str], edge_auth: dict[str, str]
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    url = "/api/v1/stock/receipts"
    first = await ok(
        await client.post(url, json=receipt(100, reference="PO-77"), headers=planner), 201
    )
    assert first["move"] == first["move"] | {"kind": "receipt", "qty": 100, "note": "PO-77"}
    assert first["stock"]["qty"] == 100
    second = await ok(await client.post(url, json=receipt(20.5), headers=planner), 201)
    assert second["stock"]["qty"] == 120.5 and second["move"]["note"] is None
    await ok(await client.post(url, json=receipt(7, lot="HEAT-2"), headers=planner), 201)
    consumed = record(1, "consumption", work_order="WO-1", item="STEEL", lot="HEAT-1", qty=30.0)
    r = await client.post(
        f"/api/v1/edges/{EDGE}/records",
        content=body([consumed]),
        headers={**edge_auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert await steel(client, planner) == {"HEAT-1": 90.5, "HEAT-2": 7}


async def test_a_receipt_lets_an_order_held_for_components_run_first(
    client: httpx.AsyncClient, planner: dict[str, str], edge_auth: dict[str, str]
) -> None:
    await seed(client, planner)
    # steel: WO-1 needs 100 x 0.5 = 50 kg, WO-2 needs 5 kg; WO-1 is due first
    await work_order(client, planner, "WO-1", due=(NOW + timedelta(days=1)).isoformat())
    await work_order(client, planner, "WO-2", qty=10, due=(NOW + timedelta(days=2)).isoformat())

    async def run_order() -> tuple[int, list[str]]:
        d = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
        return d["version"], [o["number"] for o in sorted(d["work_orders"], key=rank)]

    version, order = await run_order()
    assert order == ["WO-1", "WO-2"]  # both held: due-date order
    await ok(await client.post("/api/v1/stock/receipts", json=receipt(10), headers=planner), 201)
    bumped, order = await run_order()
    assert order == ["WO-2", "WO-1"] and bumped > version  # WO-1 is short, WO-2 can run
    await ok(await client.post("/api/v1/stock/receipts", json=receipt(40), headers=planner), 201)
    assert (await run_order())[1] == ["WO-1", "WO-2"]


def rank(order: dict[str, Any]) -> int:
    return int(order["rank"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (receipt(0), "qty"),
        (receipt(-5), "qty"),
        (receipt(5) | {"uom": ""}, "uom"),
        (receipt(5) | {"lot": "a lot with spaces"}, "lot"),
        ({"item": "STEEL", "qty": 5}, "uom"),
        (receipt(5) | {"extra": 1}, "extra"),
    ],
)
async def test_bad_receipts_name_the_field(
    client: httpx.AsyncClient, planner: dict[str, str], change: dict[str, Any], field: str
) -> None:
    await seed(client, planner)
    r = await client.post("/api/v1/stock/receipts", json=change, headers=planner)
    assert r.status_code == 422
    assert field in {str(part) for e in r.json()["detail"] for part in e["loc"]}, r.text
    assert await steel(client, planner) == {}


async def test_receipts_refuse_unknown_items_and_foreign_units(
    client: httpx.AsyncClient, planner: dict[str, str]
) -> None:
    await seed(client, planner)
    url = "/api/v1/stock/receipts"
    r = await client.post(url, json=receipt(5) | {"item": "NOPE"}, headers=planner)
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]
    r = await client.post(url, json=receipt(5) | {"uom": "t"}, headers=planner)
    assert r.status_code == 422 and "'kg'" in r.json()["detail"]
    assert await steel(client, planner) == {}


async def test_adjustments_need_admin_and_a_reason(
    client: httpx.AsyncClient, tokens: Tokens, planner: dict[str, str]
) -> None:
    admin = tokens.header("admin")
    await seed(client, planner)
    await ok(await client.post("/api/v1/stock/receipts", json=receipt(10), headers=planner), 201)
    url = "/api/v1/stock/adjustments"
    counted = {"item": "STEEL", "lot": "HEAT-1", "qty": -2.5, "uom": "kg", "reason": "count"}
    assert (await client.post(url, json=counted, headers=planner)).status_code == 403
    done = await ok(await client.post(url, json=counted, headers=admin), 201)
    assert (done["move"]["kind"], done["move"]["note"], done["stock"]["qty"]) == (
        "adjust",
        "count",
        7.5,
    )
    for bad in ({**counted, "qty": 0}, {k: v for k, v in counted.items() if k != "reason"}):
        assert (await client.post(url, json=bad, headers=admin)).status_code == 422
    assert await steel(client, planner) == {"HEAT-1": 7.5}
