"""The tablet router over HTTP (httpx + ASGI transport, in-memory services)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from edge.tablet import TabletSettings, create_tablet_router
from edge.tablet.memory import MemoryTabletServices
from tests.unit.tablet import plant


@dataclass
class Tablet:
    client: httpx.AsyncClient
    services: MemoryTabletServices
    clock: list[float]

    async def page(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def login(self, operator: str = "op-17", pin: str = "1234") -> httpx.Response:
        page = await self.client.get("/tablet/login")
        return await self.client.post(
            "/tablet/login",
            data={
                "csrf": csrf(page.text),
                "operator": operator,
                "pin": pin,
                "next": "/tablet/machines/press-01",
            },
        )


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def form_of(html: str, action: str) -> dict[str, str]:
    """Hidden fields of the form posting to ``action``."""
    start = html.index(f'action="{action}"')
    chunk = html[start : html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', chunk))


@pytest.fixture
async def tablet() -> AsyncIterator[Tablet]:
    services = plant.services()
    clock = [1_800_000_000.0]
    app = FastAPI()
    settings = TabletSettings(secret=b"t" * 32, idle_timeout_s=300, throttle_base_wait_s=2)
    app.include_router(
        create_tablet_router(services, plant.operators(), settings, clock=lambda: clock[0])
    )
    transport = httpx.ASGITransport(app=app, client=("10.0.0.9", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://tablet") as client:
        yield Tablet(client, services, clock)


async def test_board_is_public_and_lists_every_machine(tablet: Tablet) -> None:
    r = await tablet.page("/tablet/")
    assert r.status_code == 200
    assert re.findall(r'data-machine="([^"]+)"', r.text) == ["press-01", "lathe-02", "oven-03"]
    assert "htmx.min.js" in r.text and 'hx-trigger="every 5.0s"' in r.text
    frag = await tablet.page("/tablet/board/tiles")
    assert frag.status_code == 200 and "<html" not in frag.text and "lathe-02" in frag.text
    assert (await tablet.page("/tablet/static/htmx.min.js")).status_code == 200


async def test_machine_page_needs_a_login(tablet: Tablet) -> None:
    r = await tablet.client.get("/tablet/machines/press-01")
    assert r.status_code == 303
    assert r.headers["location"] == "/tablet/login?next=/tablet/machines/press-01"
    htmx = await tablet.client.get("/tablet/machines/press-01", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/tablet/login")


async def test_login_then_declare_scrap_once(tablet: Tablet) -> None:
    r = await tablet.login()
    assert r.status_code == 303 and r.headers["location"] == "/tablet/machines/press-01"
    page = await tablet.page("/tablet/machines/lathe-02")
    assert "Alice Martin" in page.text
    action = "/api/v1/machines/lathe-02/counts"
    fields = form_of(page.text, action) | {"good": "0", "scrap": "3", "scrap_reason": "burr"}
    first = await tablet.client.post(action, data=fields)
    again = await tablet.client.post(action, data=fields)
    assert first.status_code == again.status_code == 200
    assert "Stored (record 1)" in first.text and "Already stored (record 1)" in again.text
    assert len(tablet.services.outbox) == 1
    _seq, kind, body = tablet.services.outbox[0]
    assert (kind, body["action"], body["qty"], body["reason"], body["operator"]) == (
        "declaration",
        "scrap",
        3,
        "burr",
        "op-17",
    )


async def test_bad_input_names_the_field(tablet: Tablet) -> None:
    await tablet.login()
    page = await tablet.page("/tablet/machines/lathe-02")
    action = "/api/v1/machines/lathe-02/consumptions"
    r = await tablet.client.post(
        action, data=form_of(page.text, action) | {"item": "STEEL", "lot": "L1", "qty": "abc"}
    )
    assert r.status_code == 422 and "(quantity)" in r.text
    r = await tablet.client.post(
        action, data=form_of(page.text, action) | {"item": "STEEL", "lot": "L1", "qty": "2,5"}
    )  # decimal comma accepted
    assert r.status_code == 200 and tablet.services.outbox[-1][2]["qty"] == 2.5


async def test_csrf_is_required(tablet: Tablet) -> None:
    await tablet.login()
    page = await tablet.page("/tablet/machines/lathe-02")
    action = "/api/v1/machines/lathe-02/counts"
    fields = form_of(page.text, action) | {"scrap": "1", "scrap_reason": "burr"}
    r = await tablet.client.post(action, data=fields | {"csrf": "forged.token"})
    assert r.status_code == 403
    r = await tablet.client.post(action, data={k: v for k, v in fields.items() if k != "csrf"})
    assert r.status_code == 403
    assert tablet.services.outbox == []


async def test_wrong_pin_then_throttled(tablet: Tablet) -> None:
    for _ in range(3):
        r = await tablet.login(pin="0000")
        assert r.status_code == 401 and "Wrong PIN" in r.text
    r = await tablet.login(pin="0000")
    assert r.status_code == 401 and "wait 2 s" in r.text
    r = await tablet.login()  # right PIN, but still locked
    assert r.status_code == 429 and "Too many attempts" in r.text
    tablet.clock[0] += 2
    assert (await tablet.login()).status_code == 303


async def test_badge_login(tablet: Tablet) -> None:
    page = await tablet.page("/tablet/login")
    r = await tablet.client.post(
        "/tablet/login", data={"csrf": csrf(page.text), "badge": "BADGE-0017"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/tablet/"
    r = await tablet.client.post("/tablet/login", data={"csrf": csrf(page.text), "badge": "X"})
    assert r.status_code == 401 and "Unknown badge" in r.text


async def test_idle_timeout_slides_then_expires(tablet: Tablet) -> None:
    await tablet.login()
    tablet.clock[0] += 250
    assert (await tablet.page("/tablet/machines/press-01")).status_code == 200
    tablet.clock[0] += 250  # 500 s after login but 250 s after the last request
    assert (await tablet.page("/tablet/machines/press-01")).status_code == 200
    tablet.clock[0] += 301
    r = await tablet.page("/tablet/machines/press-01")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]


async def test_logout(tablet: Tablet) -> None:
    await tablet.login()
    page = await tablet.page("/tablet/machines/press-01")
    r = await tablet.client.post("/tablet/logout", data={"csrf": csrf(page.text)})
    assert r.status_code == 303
    assert (await tablet.page("/tablet/machines/press-01")).status_code == 303


async def test_language_follows_browser_then_switch(tablet: Tablet) -> None:
    r = await tablet.client.get("/tablet/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in r.text and "TRS du poste" in r.text
    r = await tablet.client.get("/tablet/lang/en?next=/tablet/machines/press-01")
    assert r.status_code == 303 and r.headers["location"] == "/tablet/machines/press-01"
    r = await tablet.client.get("/tablet/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="en">' in r.text and "Shift OEE" in r.text


async def test_no_open_redirect(tablet: Tablet) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/tablet//evil.example"):
        r = await tablet.client.get("/tablet/lang/fr", params={"next": target})
        assert r.headers["location"] == "/tablet/"


async def test_unknown_machine_is_404(tablet: Tablet) -> None:
    await tablet.login()
    assert (await tablet.page("/tablet/machines/nope")).status_code == 404
    assert (await tablet.page("/tablet/machines/nope/chart")).status_code == 404


async def test_central_change_is_shown_and_confirmed(tablet: Tablet) -> None:
    await tablet.login()
    page = await tablet.page("/tablet/machines/lathe-02")
    assert "changed the quantity of order WO-2001 to 900" in page.text
    action = "/api/v1/machines/lathe-02/changes/WO-2001/confirm"
    r = await tablet.client.post(action, data=form_of(page.text, action))
    assert r.status_code == 200 and "change to order WO-2001 confirmed" in r.text
    assert "changed the quantity" not in r.text
    assert (await tablet.services.dispatch_list("lathe-02"))[0].qty == 900
    _, kind, body = tablet.services.outbox[-1]
    assert (kind, body["action"], body["operator"]) == ("declaration", "note", "op-17")
    again = await tablet.client.post(action, data=form_of(page.text, action) | {"idem": "other"})
    assert again.status_code == 404  # nothing left to confirm


async def test_polling_does_not_keep_the_session_alive(tablet: Tablet) -> None:
    await tablet.login()
    for _ in range(4):  # the board, the chart and the stops refresh themselves
        tablet.clock[0] += 70
        assert (await tablet.page("/tablet/board/tiles")).status_code == 200
        assert (await tablet.page("/tablet/machines/press-01/chart")).status_code == 200
        assert (await tablet.page("/tablet/machines/press-01/stops")).status_code == 200
    tablet.clock[0] += 30  # 300 s since the login: the idle timeout
    r = await tablet.page("/tablet/machines/press-01")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]


async def test_stops_panel_refreshes_with_the_state_badge(tablet: Tablet) -> None:
    # no operator: nothing to swap (the page's idle timer leads to the login, not the poll)
    assert (await tablet.page("/tablet/machines/press-01/stops")).status_code == 204
    await tablet.login()
    r = await tablet.page("/tablet/machines/press-01/stops")
    assert r.status_code == 200 and "<html" not in r.text
    assert r.text.count('class="stop"') == 2 and 'id="stops"' in r.text
    assert 'id="machine-state" hx-swap-oob="true"' in r.text
    page = await tablet.page("/tablet/machines/press-01")
    assert page.text.count('id="machine-state"') == 1 and 'id="stops"' in page.text
    assert (await tablet.page("/tablet/machines/nope/stops")).status_code == 404


async def test_tiles_say_how_long_a_machine_is_halted_and_over_which_window() -> None:
    """A stopped machine shows how long it has been stopped; without a running shift the OEE
    and counts are the day's, and French says D (disponibilité), not A."""
    from datetime import UTC, datetime, timedelta

    from edge.tablet.memory import MemoryMachine
    from edge.tablet.models import MachineTile, Oee

    now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    tiles = {
        "press-01": MachineTile(
            "press-01", "stopped", oee=Oee(0.5, 0.8, 1.0), state_since=now - timedelta(minutes=4)
        ),
        "lathe-02": MachineTile(
            "lathe-02",
            "running",
            shift="morning",
            state_since=now - timedelta(minutes=9),
            last_stop_end=now - timedelta(minutes=9),
        ),
    }
    services = MemoryTabletServices({k: MemoryMachine(tile=v) for k, v in tiles.items()})
    app = FastAPI()
    app.include_router(
        create_tablet_router(services, plant.operators(), clock=lambda: now.timestamp())
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tablet") as client:
        en = (await client.get("/tablet/board/tiles")).text
        client.cookies.set("atelier_lang", "fr")
        fr = (await client.get("/tablet/board/tiles")).text
    press, lathe = en.split('data-machine="lathe-02"')
    assert "Stopped for 4\u00a0min\u00a000" in press and "Since last stop" not in press
    assert "OEE today 40.0%" in press and "Today: 0 good" in press
    assert "Since last stop: 9\u00a0min\u00a000" in lathe and "Shift OEE –" in lathe
    assert "D 50,0\u00a0% · P 80,0\u00a0% · Q 100,0\u00a0%" in fr and "TRS du jour" in fr
