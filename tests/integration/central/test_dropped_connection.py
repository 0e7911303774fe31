"""A batch cut by a dropped connection, against a real uvicorn: nothing half-applied, and the
resend is applied exactly once (same final state as one clean post)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.integration.central.conftest import EDGE, LiveServer, Tokens
from tests.integration.central.plant import ok, seed, work_order
from tests.integration.central.records import body, mixed

pytestmark = pytest.mark.integration


def _raw_post(live: LiveServer, token: str, payload: bytes, send: int, read_reply: bool) -> None:
    """POST ``payload`` but send only its first ``send`` bytes, then drop the connection."""
    head = (
        f"POST /api/v1/edges/{EDGE}/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(head + payload[:send])
        if read_reply:  # whole body sent: wait until the server has answered, then drop
            sock.recv(1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


async def _state(client: httpx.AsyncClient, h: dict[str, str]) -> tuple[object, ...]:
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=h))
    stock = await ok(await client.get("/api/v1/stock", headers=h))
    alerts = await ok(await client.get("/api/v1/alerts", headers=h))
    return (
        wo["qty_good"],
        wo["qty_scrap"],
        wo["status"],
        wo["started_at"],
        sorted((s["item"], s["lot"], s["qty"]) for s in stock),
        sorted(a["key"] for a in alerts),
    )


async def test_batch_cut_mid_way_then_resent(live: LiveServer, tokens: Tokens) -> None:
    planner, edge = tokens.header("planner"), tokens.header("edge")
    records = mixed(1, 200)
    payload = body(records).encode()
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        await seed(client, planner)
        await work_order(client, planner, "WO-1")
        before = await _state(client, planner)
        # 1. body cut in the middle: the server never sees a full request, nothing is applied
        await asyncio.to_thread(_raw_post, live, tokens.edge, payload, len(payload) // 2, False)
        await asyncio.sleep(0.3)
        assert await _state(client, planner) == before
        # 2. full body, connection dropped before the client reads the reply (lost ack)
        await asyncio.to_thread(_raw_post, live, tokens.edge, payload, len(payload), True)
        # 3. the edge resends, as it never saw an ack
        url = f"/api/v1/edges/{EDGE}/records"
        headers = {**edge, "Content-Type": "application/json"}
        ack = await ok(await client.post(url, content=payload, headers=headers))
        assert ack == {"acked_through": 200, "accepted": 0, "duplicates": 200}
        after = await _state(client, planner)
    assert after != before
    assert after[0] == 80 * 10  # 80 production records of 10 good parts, counted once
