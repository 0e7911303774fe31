"""A small plant as planning data, created through the API (shared by the central tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.central.conftest import EDGE

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def seed(client: httpx.AsyncClient, planner: dict[str, str]) -> None:
    """Machines press-01 and lathe-02 on edge-a, steel and brackets, ACME with its limits."""
    h = planner
    for m, cycle in (("press-01", 1.0), ("lathe-02", 4.0)):
        machine = {"id": m, "edge_id": EDGE, "ideal_cycle_s": cycle}
        await ok(await client.post("/api/v1/machines", json=machine, headers=h), 201)
    steel = {"code": "STEEL", "name": "Steel sheet", "uom": "kg", "kind": "raw"}
    await ok(await client.post("/api/v1/items", json=steel, headers=h), 201)
    bracket = {
        "code": "BRACKET",
        "name": "Bracket",
        "bom": [{"component": "STEEL", "qty_per": 0.5, "backflush": True}],
        "routing": [{"machine": "press-01", "ideal_cycle_s": 1.0, "setup_s": 600}],
        "specs": [{"characteristic": "width", "lsl": 9.0, "usl": 11.0, "unit": "mm"}],
    }
    await ok(await client.post("/api/v1/items", json=bracket, headers=h), 201)
    acme = {"code": "ACME", "name": "Acme", "priority_class": "A"}
    await ok(await client.post("/api/v1/customers", json=acme, headers=h), 201)
    so = {
        "number": "SO-1",
        "customer": "ACME",
        "item": "BRACKET",
        "qty": 100,
        "requested_date": (NOW + timedelta(days=3)).isoformat(),
        "quality": [{"characteristic": "width", "lsl": 9.5, "usl": 10.5, "unit": "mm"}],
    }
    await ok(await client.post("/api/v1/sales-orders", json=so, headers=h), 201)


async def work_order(
    client: httpx.AsyncClient,
    planner: dict[str, str],
    number: str,
    *,
    release: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    body = {"number": number, "item": "BRACKET", "qty": 100, "sales_order": "SO-1", **extra}
    wo = await ok(await client.post("/api/v1/work-orders", json=body, headers=planner), 201)
    if release:
        wo = await ok(await client.post(f"/api/v1/work-orders/{number}/release", headers=planner))
    return dict(wo)
