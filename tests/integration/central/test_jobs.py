"""Jobs, called directly: ETAs stored, late orders and shortages alerted, edges offline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from central.jobs import check_edges, refresh_alerts, refresh_etas
from tests.integration.central.conftest import EDGE
from tests.integration.central.plant import NOW, ok, seed, work_order
from tests.integration.central.records import body, production

pytestmark = pytest.mark.integration


async def test_eta_job_stores_etas_and_the_late_order_alert(
    client, planner, sessions: sessionmaker[Session]
) -> None:
    await seed(client, planner)
    # 100 parts at 1 s + 600 s setup: due in 5 minutes is late, due in 3 days is not
    await work_order(client, planner, "WO-1", due=(NOW + timedelta(days=3)).isoformat())
    await work_order(
        client, planner, "WO-2", due=(NOW + timedelta(minutes=5)).isoformat(), expedite=True
    )
    assert refresh_etas(sessions, NOW) == 2
    wo2 = await ok(await client.get("/api/v1/work-orders/WO-2", headers=planner))
    assert wo2["eta"] == (NOW + timedelta(seconds=700)).isoformat().replace("+00:00", "Z")
    assert refresh_etas(sessions, NOW) == 0  # unchanged: nothing rewritten
    refresh_alerts(sessions, NOW)
    late = await ok(await client.get("/api/v1/alerts?kind=late_order", headers=planner))
    assert [a["subject"] for a in late] == ["WO-2"]
    # due date moved out: the alert resolves itself
    wo2 = await ok(await client.get("/api/v1/work-orders/WO-2", headers=planner))
    patch = {"due": (NOW + timedelta(days=1)).isoformat()}
    await ok(
        await client.patch(
            "/api/v1/work-orders/WO-2",
            json=patch,
            headers={**planner, "If-Match": f'"{wo2["revision"]}"'},
        )
    )
    refresh_alerts(sessions, NOW)
    assert await ok(await client.get("/api/v1/alerts?kind=late_order", headers=planner)) == []


async def test_shortage_job_proposes_a_purchase(client, planner, edge_auth, sessions) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")  # needs 100 × 0.5 = 50 kg of steel, none in stock
    refresh_alerts(sessions, NOW)
    proposals = await ok(await client.get("/api/v1/purchase-proposals", headers=planner))
    assert [(p["item"], p["qty"], p["status"]) for p in proposals] == [("STEEL", 50.0, "proposed")]
    alerts = await ok(await client.get("/api/v1/alerts?kind=shortage", headers=planner))
    assert [a["subject"] for a in alerts] == ["STEEL"]
    # the order is cancelled: no need any more, the proposal is withdrawn
    await ok(await client.post("/api/v1/work-orders/WO-1/cancel", headers=planner))
    refresh_alerts(sessions, NOW)
    proposals = await ok(await client.get("/api/v1/purchase-proposals", headers=planner))
    assert [p["status"] for p in proposals] == ["cancelled"]
    assert await ok(await client.get("/api/v1/alerts?kind=shortage", headers=planner)) == []


async def test_edge_offline_alert(client, planner, edge_auth, sessions) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    r = await client.post(
        f"/api/v1/edges/{EDGE}/records", content=body([production(1)]), headers=edge_auth
    )
    assert r.status_code == 200
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    check_edges(sessions, now, offline_after_s=300)
    assert await ok(await client.get("/api/v1/alerts?kind=edge_offline", headers=planner)) == []
    check_edges(sessions, now + timedelta(minutes=10), offline_after_s=300)
    alerts = await ok(await client.get("/api/v1/alerts?kind=edge_offline", headers=planner))
    assert [a["subject"] for a in alerts] == [EDGE]
