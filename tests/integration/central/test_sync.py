"""Edge sync: each record kind's effect, idempotency (replays, out of order), ack, dispatch."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.integration.central.conftest import EDGE
from tests.integration.central.plant import NOW, ok, seed, work_order
from tests.integration.central.records import body, mixed, production, record

pytestmark = pytest.mark.integration
URL = f"/api/v1/edges/{EDGE}/records"


async def post(
    client: httpx.AsyncClient, auth: dict[str, str], records: list[Any]
) -> dict[str, Any]:
    r = await client.post(
        URL, content=body(records), headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def state(client: httpx.AsyncClient, planner: dict[str, str]) -> dict[str, Any]:
    """Everything ingest can change, as the API shows it."""
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    for volatile in ("eta", "created_at", "released_at"):  # wall-clock of planner actions
        wo.pop(volatile)
    stock = await ok(await client.get("/api/v1/stock", headers=planner))
    genealogy = await ok(await client.get("/api/v1/work-orders/WO-1/genealogy", headers=planner))
    alerts = await ok(await client.get("/api/v1/alerts", headers=planner))
    return {
        "wo": wo,
        "stock": [(s["item"], s["lot"], s["qty"]) for s in stock],
        "moves": _totals(genealogy),
        "alerts": sorted((a["key"], a["message"]) for a in alerts),
    }


def _totals(moves: list[dict[str, Any]]) -> dict[tuple[str, str, str], float]:
    """Moves summed per item, lot and kind (production moves are booked per batch)."""
    out: dict[tuple[str, str, str], float] = {}
    for m in moves:
        key = (m["item"], m["lot"], m["kind"])
        out[key] = out.get(key, 0.0) + m["qty"]
    return out


async def test_production_advances_the_order_and_books_finished_stock(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    ack = await post(
        client, edge_auth, [production(1, good=30, scrap=2), production(2, good=20, scrap=0)]
    )
    assert ack == {"acked_through": 2, "accepted": 2, "duplicates": 0}
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    assert (wo["qty_good"], wo["qty_scrap"], wo["status"]) == (50, 2, "in_progress")
    assert wo["started_at"] is not None
    stock = await ok(await client.get("/api/v1/stock?item=BRACKET", headers=planner))
    assert [(s["lot"], s["qty"]) for s in stock] == [("WO-1", 50)]


async def test_consumption_lowers_component_stock_and_records_genealogy(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    await post(
        client,
        edge_auth,
        [
            record(
                1, "consumption", work_order="WO-1", item="STEEL", lot="HEAT-7", qty=4.0, uom="kg"
            ),
            record(2, "consumption", work_order="WO-1", item="STEEL", lot="HEAT-8", qty=1.5),
        ],
    )
    stock = await ok(await client.get("/api/v1/stock?item=STEEL", headers=planner))
    assert {(s["lot"], s["qty"]) for s in stock} == {("HEAT-7", -4.0), ("HEAT-8", -1.5)}
    moves = await ok(await client.get("/api/v1/work-orders/WO-1/genealogy", headers=planner))
    assert [(m["lot"], m["qty"], m["kind"]) for m in moves] == [
        ("HEAT-7", -4.0, "consume"),
        ("HEAT-8", -1.5, "consume"),
    ]


async def test_quality_outside_the_customer_limits_raises_a_nonconformity(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    # 10.8 is inside the item's limits [9, 11] but outside ACME's [9.5, 10.5]
    await post(
        client,
        edge_auth,
        [
            record(1, "quality", characteristic="width", value=10.0, work_order="WO-1"),
            record(2, "quality", characteristic="width", value=10.8, work_order="WO-1"),
        ],
    )
    alerts = await ok(await client.get("/api/v1/alerts?kind=nonconformity", headers=planner))
    assert len(alerts) == 1
    assert alerts[0]["severity"] == "critical"
    assert "10.8" in alerts[0]["message"] and "ACME" in alerts[0]["message"]
    ncs = await ok(await client.get("/api/v1/nonconformities?work_order=WO-1", headers=planner))
    assert [(n["value"], n["lsl"], n["usl"], n["customer"]) for n in ncs] == [
        (10.8, 9.5, 10.5, "ACME")
    ]


async def test_hello_announces_machines_and_bumps_the_dispatch(client, planner, edge_auth) -> None:
    first = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
    await post(
        client,
        edge_auth,
        [
            record(
                1,
                "hello",
                software_version="0.1",
                machines=[{"id": "oven-03", "ideal_cycle_s": 30, "protocol": "mqtt"}],
            )
        ],
    )
    machines = await ok(await client.get("/api/v1/machines", headers=planner))
    assert [(m["id"], m["edge_id"], m["ideal_cycle_s"]) for m in machines] == [
        ("oven-03", EDGE, 30.0)
    ]
    again = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
    assert again["version"] > first["version"]


async def test_stops_merge_open_and_close_and_oee_keeps_the_latest_report(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    start = NOW.isoformat()
    window = {
        "machine": "press-01",
        "window_start": NOW,
        "window_end": NOW.replace(hour=9),
        "planned_s": 3600,
        "total": 3000,
        "good": 2900,
    }
    # the closing stop record and the newer OEE report arrive before the older ones
    await post(
        client,
        edge_auth,
        [
            record(
                2, "stop", machine="press-01", start=start, end=NOW.replace(minute=10).isoformat()
            ),
            record(4, "oee", run_s=3300, **window),
        ],
    )
    await post(
        client,
        edge_auth,
        [
            record(1, "stop", machine="press-01", start=start, reason="jam"),
            record(3, "oee", run_s=1000, **window),
        ],
    )
    oee = await ok(
        await client.get(
            "/api/v1/machines/press-01/oee",
            params={"from": NOW.isoformat(), "to": NOW.replace(hour=10).isoformat()},
            headers=planner,
        )
    )
    assert len(oee) == 1
    assert oee[0]["run_s"] == 3300
    assert oee[0]["availability"] == pytest.approx(3300 / 3600)
    assert oee[0]["performance"] == pytest.approx(1.0 * 3000 / 3300)  # ideal cycle 1 s
    stops = await ok(await client.get("/api/v1/machines/press-01/stops", headers=planner))
    assert [(s["start"], s["end"], s["reason"]) for s in stops] == [
        ("2026-01-05T08:00:00Z", "2026-01-05T08:10:00Z", "jam")
    ]
    assert oee[0]["quality"] == pytest.approx(2900 / 3000)


async def test_declarations_drive_the_state_machine(client, planner, edge_auth) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    await post(
        client,
        edge_auth,
        [
            record(1, "declaration", machine="press-01", action="start_order", work_order="WO-1"),
            record(2, "declaration", machine="press-01", action="pause_order", work_order="WO-1"),
        ],
    )
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    assert wo["status"] == "paused"
    # not allowed from paused: stored, not applied, batch still acknowledged
    ack = await post(
        client,
        edge_auth,
        [record(3, "declaration", machine="press-01", action="pause_order", work_order="WO-1")],
    )
    assert ack["acked_through"] == 3
    assert (await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner)))[
        "status"
    ] == "paused"


async def test_same_batch_three_times_is_applied_once(client, planner, edge_auth) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    batch = mixed(1, 40)
    acks = [await post(client, edge_auth, batch) for _ in range(3)]
    assert [a["accepted"] for a in acks] == [40, 0, 0]
    assert all(a["acked_through"] == 40 for a in acks)
    after = await state(client, planner)
    assert after["wo"]["qty_good"] == 16 * 10  # 16 production records of 10 good


async def _reference(client, planner, edge_auth, batches: list[list[Any]]) -> dict[str, Any]:
    for b in batches:
        await post(client, edge_auth, b)
    return await state(client, planner)


async def test_out_of_order_batches_reach_the_same_state_and_ack_is_contiguous(
    client, planner, edge_auth, sessions
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    records = mixed(1, 60)
    a, b, c = records[:20], records[20:40], records[40:]
    # c then a: 21..40 missing, so the ack stops at 20 even though 60 is stored
    assert (await post(client, edge_auth, c))["acked_through"] == 0
    assert (await post(client, edge_auth, a))["acked_through"] == 20
    # interleaved halves of b, posted in reverse, plus a replay of part of c
    assert (await post(client, edge_auth, b[10:] + c[:5]))["acked_through"] == 20
    assert (await post(client, edge_auth, b[:10]))["acked_through"] == 60
    shuffled = await state(client, planner)
    # the same records in order, on a clean plant, give the same state
    from tests.integration.central.conftest import _empty

    _empty(sessions.kw["bind"])
    from central.security import create_token

    with sessions() as s:
        token = create_token(session=s, name="edge", role="edge", edge_id=EDGE)
        planner_token = create_token(session=s, name="p", role="planner", edge_id=None)
    planner2 = {"Authorization": f"Bearer {planner_token}"}
    await seed(client, planner2)
    await work_order(client, planner2, "WO-1")
    ordered = await _reference(client, planner2, {"Authorization": f"Bearer {token}"}, [records])
    assert shuffled == ordered


async def test_dispatch_304_when_unchanged_and_long_poll_wakes_on_change(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-9", release=False)  # drafts are not dispatched
    d = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
    assert d["work_orders"] == []
    r = await client.get(
        f"/api/v1/edges/{EDGE}/dispatch", params={"since": d["version"]}, headers=edge_auth
    )
    assert r.status_code == 304
    poll = asyncio.create_task(
        client.get(
            f"/api/v1/edges/{EDGE}/dispatch",
            params={"since": d["version"], "wait": 20},
            headers=edge_auth,
        )
    )
    await asyncio.sleep(0.3)
    assert not poll.done()
    await ok(await client.post("/api/v1/work-orders/WO-9/release", headers=planner))
    r = await asyncio.wait_for(poll, timeout=10)
    assert r.status_code == 200
    new = r.json()
    assert new["version"] > d["version"]
    assert [w["number"] for w in new["work_orders"]] == ["WO-9"]


async def test_dispatch_ranks_by_customer_class_then_due(client, planner, edge_auth) -> None:
    await seed(client, planner)
    await ok(
        await client.post(
            "/api/v1/customers",
            json={"code": "SMALL", "name": "Small", "priority_class": "C"},
            headers=planner,
        ),
        201,
    )
    due = NOW.replace(day=20).isoformat()
    await work_order(client, planner, "WO-1", due=due)
    await work_order(
        client,
        planner,
        "WO-2",
        due=NOW.replace(day=6).isoformat(),
        customer="SMALL",
        sales_order=None,
    )
    await work_order(client, planner, "WO-3", due=NOW.replace(day=10).isoformat())
    d = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
    assert [(w["number"], w["rank"]) for w in d["work_orders"]] == [
        ("WO-3", 1),
        ("WO-1", 2),
        ("WO-2", 3),
    ]
    listed = await ok(await client.get("/api/v1/machines/press-01/dispatch", headers=planner))
    assert [w["number"] for w in listed] == ["WO-3", "WO-1", "WO-2"]


async def test_bad_records_are_rejected_naming_the_field(client, edge_auth) -> None:
    r = await client.post(
        URL,
        content=b'{"records":[{"seq":1,"kind":"production","ts":"2026-01-01T00:00:00Z","body":{"machine":"m","good":-1,"period_start":"2026-01-01T00:00:00Z","period_end":"2026-01-01T00:00:00Z"}}]}',
        headers={**edge_auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["records", 0, "production", "body", "good"]
    r = await client.post(URL, content=b"not json", headers=edge_auth)
    assert r.status_code == 422


async def test_long_poll_sees_a_change_made_by_another_worker(
    client, planner, edge_auth, sessions
) -> None:
    """A version bumped in the database without this process' event (as another uvicorn
    worker would) still ends the long-poll, through the periodic version check."""
    from sqlalchemy import update

    from central.db.tables import Edge

    await seed(client, planner)
    d = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
    poll = asyncio.create_task(
        client.get(
            f"/api/v1/edges/{EDGE}/dispatch",
            params={"since": d["version"], "wait": 20},
            headers=edge_auth,
        )
    )
    await asyncio.sleep(0.3)
    assert not poll.done()
    with sessions() as s:  # a plain session: no notifier hook installed on it
        s.execute(
            update(Edge).where(Edge.id == EDGE).values(dispatch_version=Edge.dispatch_version + 1)
        )
        s.commit()
    r = await asyncio.wait_for(poll, timeout=10)
    assert r.status_code == 200 and r.json()["version"] == d["version"] + 1


def _made(seq: int, wo: str | None, good: int, start_s: int, lot: str | None = None) -> Any:
    start = NOW + timedelta(seconds=start_s)
    end = start + timedelta(seconds=10)
    fields = {"work_order": wo, "machine": "press-01", "good": good, "scrap": 1, "lot": lot}
    return record(seq, "production", period_start=start, period_end=end, **fields)


async def test_production_of_several_orders_lots_and_unknown_orders_in_one_batch(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    await work_order(client, planner, "WO-2", release=False)
    url = f"/api/v1/edges/{EDGE}/dispatch"
    before = await ok(await client.get(url, headers=edge_auth))
    batch = [
        _made(1, "WO-1", 5, start_s=100),
        _made(2, "WO-1", 7, start_s=40, lot="HEAT-9"),  # earlier period, own lot
        _made(3, "WO-2", 3, start_s=60, lot=""),  # empty lot: the order's number
        _made(4, "WO-X", 9, start_s=0),  # unknown order: counted, alerted, not booked
        _made(5, None, 4, start_s=0),  # no order: counted only
        _made(6, "WO-1", 0, start_s=20),  # scrap only: starts earlier, no stock move
    ]
    assert (await post(client, edge_auth, batch))["accepted"] == 6
    one = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    assert (one["qty_good"], one["qty_scrap"], one["status"]) == (12, 3, "in_progress")
    assert one["started_at"] == (NOW + timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
    two = await ok(await client.get("/api/v1/work-orders/WO-2", headers=planner))
    assert (two["qty_good"], two["qty_scrap"], two["status"]) == (3, 1, "draft")
    stock = await ok(await client.get("/api/v1/stock?item=BRACKET", headers=planner))
    assert sorted((s["lot"], s["qty"]) for s in stock) == [
        ("HEAT-9", 7),
        ("WO-1", 5),
        ("WO-2", 3),
    ]
    moves = _totals(
        await ok(await client.get("/api/v1/work-orders/WO-1/genealogy", headers=planner))
    )
    assert moves == {("BRACKET", "HEAT-9", "produce"): 7, ("BRACKET", "WO-1", "produce"): 5}
    alerts = await ok(await client.get("/api/v1/alerts", headers=planner))
    assert [a["key"] for a in alerts if a["kind"] == "unknown_work_order"] == [
        "unknown_work_order:WO-X"
    ]
    after = await ok(await client.get(url, headers=edge_auth))
    assert after["version"] > before["version"]  # WO-1 started
    await post(client, edge_auth, batch)  # a replay changes nothing
    assert await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner)) == one


async def test_ack_moves_through_overlapping_and_gapped_batches(client, planner, edge_auth) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")

    async def ack(*seqs: int) -> tuple[int, int, int]:
        a = await post(client, edge_auth, [production(s) for s in seqs])
        return a["acked_through"], a["accepted"], a["duplicates"]

    assert await ack(*range(1, 11)) == (10, 10, 0)
    assert await ack(*range(5, 16), 18, 19, 20) == (15, 8, 6)  # overlaps the ack, one gap
    assert await ack(17, 16) == (20, 2, 0)  # fills the gap: 18..20 were stored before
    assert await ack(*range(25, 31)) == (20, 6, 0)
    assert await ack(24, 26, 28, 31) == (20, 2, 2)  # around and inside 25..30, above the ack
    # 21..23 fill the gap: the ack runs on through 24, 25..30 and 31, stored before
    assert await ack(2, 3, 21, 22, 23) == (31, 3, 2)
    assert await ack(1, 2, 24, 31, 32, 40) == (32, 2, 4)
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    assert wo["qty_good"] == 10 * 33  # seqs 1..32 and 40, each once


async def test_two_values_outside_the_limits_in_one_batch_raise_one_alert(
    client, planner, edge_auth
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    width = {"characteristic": "width", "work_order": "WO-1"}
    await post(
        client,
        edge_auth,
        [record(1, "quality", value=10.8, **width), record(2, "quality", value=9.1, **width)],
    )
    alerts = await ok(await client.get("/api/v1/alerts?kind=nonconformity", headers=planner))
    assert [a["key"] for a in alerts] == ["nonconformity:WO-1:width"]
    assert "9.1" in alerts[0]["message"]  # of one key's messages, the last in sorted order
    ncs = await ok(await client.get("/api/v1/nonconformities?work_order=WO-1", headers=planner))
    assert sorted(n["value"] for n in ncs) == [9.1, 10.8]
