"""Authorization matrix: every route of the OpenAPI schema × every principal.

Routes are enumerated from the app's schema, so a new route fails this test until it gets an
example request and a policy here. Each allowed call gets fresh entities (a new work order in
the state its transition needs…), so "allowed" means a real 2xx, not just "not 403".
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.central.conftest import EDGE, Tokens
from tests.integration.central.plant import NOW, ok, seed
from tests.integration.central.records import body, production

pytestmark = pytest.mark.integration

PEOPLE_READ = {"viewer", "planner", "admin"}
PEOPLE_WRITE = {"planner", "admin"}
PRINCIPALS = ["none", "viewer", "planner", "admin", "edge", "other_edge"]

Prepare = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[tuple[str, dict[str, Any]]]]


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _wo(client: httpx.AsyncClient, admin: dict[str, str], *actions: str) -> str:
    number = _uid("WO")
    body_ = {"number": number, "item": "BRACKET", "qty": 10}
    await ok(await client.post("/api/v1/work-orders", json=body_, headers=admin), 201)
    for action in actions:
        await ok(await client.post(f"/api/v1/work-orders/{number}/{action}", headers=admin))
    return number


def fixed(url: str, **kwargs: Any) -> Prepare:
    async def prepare(_c: httpx.AsyncClient, _a: dict[str, str]) -> tuple[str, dict[str, Any]]:
        return url, kwargs

    return prepare


def transition(action: str, *before: str) -> Prepare:
    async def prepare(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
        return f"/api/v1/work-orders/{await _wo(c, a, *before)}/{action}", {}

    return prepare


async def _records(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    seq = uuid.uuid4().int % 10**9 + 1
    return f"/api/v1/edges/{EDGE}/records", {
        "content": body([production(seq)]),
        "headers": {"Content-Type": "application/json"},
    }


async def _patch_wo(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    number = await _wo(c, a)
    return f"/api/v1/work-orders/{number}", {
        "json": {"priority": 3},
        "headers": {"If-Match": '"1"'},
    }


async def _new_wo(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "/api/v1/work-orders", {"json": {"number": _uid("WO"), "item": "BRACKET", "qty": 5}}


async def _new_item(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "/api/v1/items", {"json": {"code": _uid("IT"), "name": "x"}}


async def _new_customer(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "/api/v1/customers", {"json": {"code": _uid("CU"), "name": "x"}}


async def _new_so(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    so = {
        "number": _uid("SO"),
        "customer": "ACME",
        "item": "BRACKET",
        "qty": 1,
        "requested_date": NOW.isoformat(),
    }
    return "/api/v1/sales-orders", {"json": so}


async def _new_machine(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "/api/v1/machines", {"json": {"id": _uid("M")}}


async def _new_token(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "/api/v1/tokens", {"json": {"name": _uid("t"), "role": "viewer"}}


async def _revoke(c: httpx.AsyncClient, a: dict[str, str]) -> tuple[str, dict[str, Any]]:
    created = await ok(
        await c.post("/api/v1/tokens", json={"name": _uid("t"), "role": "viewer"}, headers=a), 201
    )
    tokens = await ok(await c.get("/api/v1/tokens", headers=a))
    token_id = next(t["id"] for t in tokens if t["name"] == created["name"])
    return f"/api/v1/tokens/{token_id}/revoke", {}


ROUTES: dict[tuple[str, str], tuple[set[str], Prepare]] = {
    ("POST", "/api/v1/edges/{edge_id}/records"): ({"edge"}, _records),
    ("GET", "/api/v1/edges/{edge_id}/dispatch"): (
        PEOPLE_READ | {"edge"},
        fixed(f"/api/v1/edges/{EDGE}/dispatch"),
    ),
    ("POST", "/api/v1/work-orders"): (PEOPLE_WRITE, _new_wo),
    ("GET", "/api/v1/work-orders"): (PEOPLE_READ, fixed("/api/v1/work-orders")),
    ("GET", "/api/v1/work-orders/{number}"): (PEOPLE_READ, fixed("/api/v1/work-orders/WO-1")),
    ("PATCH", "/api/v1/work-orders/{number}"): (PEOPLE_WRITE, _patch_wo),
    ("POST", "/api/v1/work-orders/{number}/release"): (PEOPLE_WRITE, transition("release")),
    ("POST", "/api/v1/work-orders/{number}/start"): (PEOPLE_WRITE, transition("start", "release")),
    ("POST", "/api/v1/work-orders/{number}/pause"): (
        PEOPLE_WRITE,
        transition("pause", "release", "start"),
    ),
    ("POST", "/api/v1/work-orders/{number}/resume"): (
        PEOPLE_WRITE,
        transition("resume", "release", "start", "pause"),
    ),
    ("POST", "/api/v1/work-orders/{number}/complete"): (
        PEOPLE_WRITE,
        transition("complete", "release", "start"),
    ),
    ("POST", "/api/v1/work-orders/{number}/close"): (
        PEOPLE_WRITE,
        transition("close", "release", "start"),
    ),
    ("POST", "/api/v1/work-orders/{number}/cancel"): (PEOPLE_WRITE, transition("cancel")),
    ("GET", "/api/v1/work-orders/{number}/genealogy"): (
        PEOPLE_READ,
        fixed("/api/v1/work-orders/WO-1/genealogy"),
    ),
    ("POST", "/api/v1/items"): (PEOPLE_WRITE, _new_item),
    ("GET", "/api/v1/items"): (PEOPLE_READ, fixed("/api/v1/items")),
    ("GET", "/api/v1/items/{code}"): (PEOPLE_READ, fixed("/api/v1/items/BRACKET")),
    ("PATCH", "/api/v1/items/{code}"): (
        PEOPLE_WRITE,
        fixed("/api/v1/items/STEEL", json={"safety_stock": 5}),
    ),
    ("POST", "/api/v1/customers"): (PEOPLE_WRITE, _new_customer),
    ("GET", "/api/v1/customers"): (PEOPLE_READ, fixed("/api/v1/customers")),
    ("GET", "/api/v1/customers/{code}"): (PEOPLE_READ, fixed("/api/v1/customers/ACME")),
    ("PATCH", "/api/v1/customers/{code}"): (
        PEOPLE_WRITE,
        fixed("/api/v1/customers/ACME", json={"name": "Acme SA"}),
    ),
    ("POST", "/api/v1/sales-orders"): (PEOPLE_WRITE, _new_so),
    ("GET", "/api/v1/sales-orders"): (PEOPLE_READ, fixed("/api/v1/sales-orders")),
    ("GET", "/api/v1/sales-orders/{number}"): (PEOPLE_READ, fixed("/api/v1/sales-orders/SO-1")),
    ("GET", "/api/v1/machines"): (PEOPLE_READ, fixed("/api/v1/machines")),
    ("POST", "/api/v1/machines"): (PEOPLE_WRITE, _new_machine),
    ("GET", "/api/v1/machines/{machine_id}"): (PEOPLE_READ, fixed("/api/v1/machines/press-01")),
    ("GET", "/api/v1/machines/{machine_id}/dispatch"): (
        PEOPLE_READ,
        fixed("/api/v1/machines/press-01/dispatch"),
    ),
    ("GET", "/api/v1/machines/{machine_id}/stops"): (
        PEOPLE_READ,
        fixed("/api/v1/machines/press-01/stops"),
    ),
    ("GET", "/api/v1/machines/{machine_id}/oee"): (
        PEOPLE_READ,
        fixed("/api/v1/machines/press-01/oee"),
    ),
    ("GET", "/api/v1/stock"): (PEOPLE_READ, fixed("/api/v1/stock")),
    ("POST", "/api/v1/stock/receipts"): (
        PEOPLE_WRITE,
        fixed("/api/v1/stock/receipts", json={"item": "STEEL", "qty": 5, "uom": "kg"}),
    ),
    ("POST", "/api/v1/stock/adjustments"): (
        {"admin"},
        fixed(
            "/api/v1/stock/adjustments",
            json={"item": "STEEL", "qty": -1, "uom": "kg", "reason": "count"},
        ),
    ),
    ("GET", "/api/v1/alerts"): (PEOPLE_READ, fixed("/api/v1/alerts")),
    ("GET", "/api/v1/nonconformities"): (PEOPLE_READ, fixed("/api/v1/nonconformities")),
    ("GET", "/api/v1/purchase-proposals"): (PEOPLE_READ, fixed("/api/v1/purchase-proposals")),
    ("GET", "/api/v1/tokens"): ({"admin"}, fixed("/api/v1/tokens")),
    ("POST", "/api/v1/tokens"): ({"admin"}, _new_token),
    ("POST", "/api/v1/tokens/{token_id}/revoke"): ({"admin"}, _revoke),
}
PUBLIC = {("GET", "/health")}


def test_every_route_has_a_policy(app: FastAPI) -> None:
    schema_routes = {
        (method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops
    }
    assert schema_routes - PUBLIC == set(ROUTES), "add the new route to ROUTES with its policy"


async def test_authorization_matrix(client: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.header("admin")
    await seed(client, admin)
    await _wo(client, admin)  # a WO-… to exist besides WO-1
    await ok(
        await client.post(
            "/api/v1/work-orders",
            json={"number": "WO-1", "item": "BRACKET", "qty": 1},
            headers=admin,
        ),
        201,
    )
    failures = []
    for (method, template), (allowed, prepare) in ROUTES.items():
        for who in PRINCIPALS:
            url, kwargs = await prepare(client, admin)
            headers = dict(kwargs.pop("headers", {}))
            if who != "none":
                headers.update(tokens.header(who))
            r = await client.request(method, url, headers=headers, **kwargs)
            expected = "401" if who == "none" else ("2xx" if who in allowed else "403")
            got = "2xx" if 200 <= r.status_code < 300 else str(r.status_code)
            if got != expected:
                failures.append(
                    f"{method} {template} as {who}: {r.status_code} (want {expected}) {r.text[:99]}"
                )
    assert not failures, "\n".join(failures)


async def test_edge_token_reaches_only_its_own_edge(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    url, kwargs = await _records(client, tokens.header("admin"))
    r = await client.post(
        url.replace(EDGE, "edge-b"),
        headers={**kwargs["headers"], **tokens.header("edge")},
        content=kwargs["content"],
    )
    assert r.status_code == 403
    r = await client.get("/api/v1/edges/edge-b/dispatch", headers=tokens.header("edge"))
    assert r.status_code == 403
    r = await client.get("/api/v1/edges/edge-b/dispatch", headers=tokens.header("other_edge"))
    assert r.status_code == 200


async def test_public_routes_and_bad_tokens(
    client: httpx.AsyncClient, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    assert (await client.get("/openapi.json")).status_code == 200
    r = await client.get("/api/v1/items", headers={"Authorization": "Bearer atl_not-a-real-token"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert "failed authentication" in caplog.text
    assert "atl_not-a-real-token" not in caplog.text  # no secret in logs
    # a revoked token stops working (token cache disabled in tests)
    created = await ok(
        await client.post(
            "/api/v1/tokens", json={"name": "tmp", "role": "viewer"}, headers=tokens.header("admin")
        ),
        201,
    )
    secret = created["token"]
    assert (
        await client.get("/api/v1/items", headers={"Authorization": f"Bearer {secret}"})
    ).status_code == 200
    listed = await ok(await client.get("/api/v1/tokens", headers=tokens.header("admin")))
    assert all("token" not in t and "hash" not in str(t) for t in listed)
    tid = next(t["id"] for t in listed if t["name"] == "tmp")
    await ok(await client.post(f"/api/v1/tokens/{tid}/revoke", headers=tokens.header("admin")))
    assert (
        await client.get("/api/v1/items", headers={"Authorization": f"Bearer {secret}"})
    ).status_code == 401
