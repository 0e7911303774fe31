"""Work orders over HTTP: lifecycle, edit rules, optimistic concurrency (ETag / If-Match)."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.central.conftest import EDGE
from tests.integration.central.plant import ok, seed, work_order
from tests.integration.central.records import body, production

pytestmark = pytest.mark.integration
WO = "/api/v1/work-orders/WO-1"


async def test_create_reads_back_the_contract_fields(client, planner) -> None:
    await seed(client, planner)
    r = await client.post(
        "/api/v1/work-orders",
        json={"item": "BRACKET", "qty": 50, "sales_order": "SO-1"},
        headers=planner,
    )
    wo = await ok(r, 201)
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"/api/v1/work-orders/{wo['number']}"
    # machine from the routing, customer and due date from the sales order
    assert (wo["machine"], wo["customer"], wo["due"], wo["status"]) == (
        "press-01",
        "ACME",
        "2026-01-08T08:00:00Z",
        "draft",
    )
    for key in (
        "number",
        "item",
        "qty",
        "machine",
        "status",
        "due",
        "priority",
        "qty_good",
        "qty_scrap",
        "eta",
    ):
        assert key in wo
    listed = await ok(
        await client.get("/api/v1/work-orders?status=draft&machine=press-01", headers=planner)
    )
    assert [w["number"] for w in listed] == [wo["number"]]
    assert await ok(await client.get("/api/v1/work-orders?status=released", headers=planner)) == []


async def test_unknown_references_and_duplicates_are_refused(client, planner) -> None:
    await seed(client, planner)
    r = await client.post("/api/v1/work-orders", json={"item": "NOPE", "qty": 1}, headers=planner)
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]
    await work_order(client, planner, "WO-1", release=False)
    r = await client.post(
        "/api/v1/work-orders", json={"number": "WO-1", "item": "BRACKET", "qty": 1}, headers=planner
    )
    assert r.status_code == 409
    assert (await client.get("/api/v1/work-orders/WO-404", headers=planner)).status_code == 404


async def test_lifecycle_through_the_api(client, planner) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    steps = [
        ("start", "in_progress"),
        ("pause", "paused"),
        ("resume", "in_progress"),
        ("complete", "completed"),
        ("close", "closed"),
    ]
    for action, expected in steps:
        wo = await ok(await client.post(f"{WO}/{action}", headers=planner))
        assert wo["status"] == expected
    assert wo["closed_short"] is False
    r = await client.post(f"{WO}/cancel", headers=planner)
    assert r.status_code == 409 and "cannot cancel" in r.json()["detail"]


async def test_cancel_only_before_start_and_close_short_after(client, planner) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    assert (await ok(await client.post(f"{WO}/cancel", headers=planner)))["status"] == "cancelled"
    await work_order(client, planner, "WO-2")
    await ok(await client.post("/api/v1/work-orders/WO-2/start", headers=planner))
    assert (
        await client.post("/api/v1/work-orders/WO-2/cancel", headers=planner)
    ).status_code == 409
    closed = await ok(await client.post("/api/v1/work-orders/WO-2/close", headers=planner))
    assert (closed["status"], closed["closed_short"]) == ("closed", True)


async def test_after_start_only_priority_due_and_qty_change(client, planner, edge_auth) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    await client.post(
        f"/api/v1/edges/{EDGE}/records",
        content=body([production(1, good=40, scrap=0)]),
        headers=edge_auth,
    )
    wo = await ok(await client.get(WO, headers=planner))
    assert (wo["status"], wo["qty_good"]) == ("in_progress", 40)
    etag = f'"{wo["revision"]}"'
    r = await client.patch(WO, json={"machine": "lathe-02"}, headers={**planner, "If-Match": etag})
    assert r.status_code == 409 and "machine" in r.json()["detail"]
    r = await client.patch(WO, json={"qty": 39}, headers={**planner, "If-Match": etag})
    assert r.status_code == 409 and "below" in r.json()["detail"]
    r = await client.patch(
        WO,
        json={"qty": 60, "priority": 5, "due": "2026-02-01T00:00:00Z"},
        headers={**planner, "If-Match": etag},
    )
    changed = await ok(r)
    assert (changed["qty"], changed["priority"], changed["due"]) == (60, 5, "2026-02-01T00:00:00Z")
    assert r.headers["ETag"] == f'"{wo["revision"] + 1}"'


async def test_patch_needs_if_match_and_refuses_a_stale_one(client, planner) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1", release=False)
    assert (await client.patch(WO, json={"priority": 1}, headers=planner)).status_code == 428
    first = await client.patch(WO, json={"priority": 1}, headers={**planner, "If-Match": '"1"'})
    assert first.status_code == 200
    stale = await client.patch(WO, json={"priority": 2}, headers={**planner, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await ok(await client.get(WO, headers=planner)))["priority"] == 1


async def test_twenty_concurrent_writers_lose_no_update(client, planner) -> None:
    """20 clients read-modify-write the priority; each retries on 412 until it wins once."""
    await seed(client, planner)
    await work_order(client, planner, "WO-1", release=False)
    statuses: list[int] = []

    async def bump() -> None:
        while True:
            r = await client.get(WO, headers=planner)
            wo = r.json()
            patch = {"priority": wo["priority"] + 1}
            w = await client.patch(
                WO, json=patch, headers={**planner, "If-Match": r.headers["ETag"]}
            )
            statuses.append(w.status_code)
            if w.status_code == 200:
                return
            assert w.status_code == 412, w.text

    await asyncio.gather(*(bump() for _ in range(20)))
    final = await ok(await client.get(WO, headers=planner))
    assert final["priority"] == 20  # every increment survived
    assert final["revision"] == 21
    assert statuses.count(200) == 20
    assert 412 in statuses  # the writers really collided


async def test_same_revision_from_twenty_clients_has_one_winner(client, planner) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1", release=False)
    results = await asyncio.gather(
        *(
            client.patch(WO, json={"priority": i}, headers={**planner, "If-Match": '"1"'})
            for i in range(1, 21)
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [412] * 19
    winner = next(r.json()["priority"] for r in results if r.status_code == 200)
    assert (await ok(await client.get(WO, headers=planner)))["priority"] == winner


async def test_ingest_and_planner_edits_run_together(client, planner, edge_auth) -> None:
    """Production batches and planner edits of the same order interleave without deadlock or
    lost counts (both lock the edge's row before the work order's)."""
    await seed(client, planner)
    await work_order(client, planner, "WO-1")

    async def produce(k: int) -> None:
        r = await client.post(
            f"/api/v1/edges/{EDGE}/records",
            content=body([production(k * 10 + i + 1, good=1, scrap=0) for i in range(10)]),
            headers={**edge_auth, "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text

    async def edit() -> None:
        while True:
            r = await client.get(WO, headers=planner)
            patch = {"priority": r.json()["priority"] + 1}
            w = await client.patch(
                WO, json=patch, headers={**planner, "If-Match": r.headers["ETag"]}
            )
            if w.status_code == 200:
                return
            assert w.status_code == 412, w.text

    await asyncio.gather(*(produce(k) for k in range(10)), *(edit() for _ in range(10)))
    final = await ok(await client.get(WO, headers=planner))
    assert (final["qty_good"], final["priority"], final["status"]) == (100, 10, "in_progress")


async def test_planner_priority_reorders_the_machine_within_a_class(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    due = "2026-01-06T08:00:00Z"
    await work_order(client, planner, "WO-1", due=due)
    await work_order(client, planner, "WO-2", due="2026-01-09T08:00:00Z")
    await work_order(client, planner, "WO-3", due=due, expedite=True)

    async def queue() -> tuple[int, list[str]]:
        d = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
        return d["version"], [
            o["number"] for o in sorted(d["work_orders"], key=lambda o: o["rank"])
        ]

    version, order = await queue()
    assert order == ["WO-3", "WO-1", "WO-2"]  # expedite, then due date (same customer class)
    patch = {"priority": 10}
    r = await client.patch(
        "/api/v1/work-orders/WO-2", json=patch, headers={**planner, "If-Match": '"2"'}
    )
    assert r.status_code == 200, r.text
    bumped, order = await queue()
    assert order == ["WO-3", "WO-2", "WO-1"] and bumped > version  # not ahead of the expedite
