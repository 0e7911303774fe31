"""The tablet in Chromium over the in-memory services: the operator flow, the barcode-scanner
behaviour, wrong PIN, accessibility basics at 1280x800 landscape and 800x1280 portrait."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from edge.tablet import TabletSettings, create_tablet_router
from edge.tablet.memory import MemoryTabletServices
from edge.tablet.models import OrderAction, PendingStop
from tests.browser import checks
from tests.browser.harness import ARTIFACTS, AppServer
from tests.support.services import free_port
from tests.unit.tablet import plant

pytestmark = pytest.mark.browser


@pytest.fixture
def served() -> Iterator[tuple[str, MemoryTabletServices]]:
    services = plant.services()
    app = FastAPI()
    app.include_router(create_tablet_router(services, plant.operators(), TabletSettings()))
    with AppServer(app, free_port()) as server:
        yield server.url, services


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_operator_flow_lands_in_the_outbox(page: Any, served: tuple[str, Any]) -> None:
    base, services = served
    checks.login(page, base, operator="op-17", pin="1234", machine="press-01")
    checks.confirm(page, lambda: page.get_by_role("button", name="Start order WO-1001").click())
    page.fill("#scrap", "3")
    page.select_option("#scrap_reason", "burr")
    checks.confirm(page, lambda: page.get_by_role("button", name="Declare").click())
    stop = page.locator("form.stop").first
    stop.locator("select").select_option("mech.jam")
    checks.confirm(page, lambda: stop.get_by_role("button").click())
    # a keyboard-wedge scanner types the code and presses Enter, field after field
    page.focus("#item")
    page.keyboard.type("STEEL-S235\n")
    assert page.evaluate("document.activeElement.id") == "lot"
    page.keyboard.type("LOT-4711\n")
    assert page.evaluate("document.activeElement.id") == "qty"
    checks.confirm(page, lambda: page.keyboard.type("12.5\n"))
    diameter = page.locator("form.quality[data-characteristic=diameter]")
    diameter.locator("input[name=value]").fill("10.2")
    text = checks.confirm(page, lambda: diameter.get_by_role("button").click())
    assert "OUT OF LIMITS" in text
    assert page.locator(".result.verdict-fail").first.is_visible()

    actions = [b["action"] for _, k, b in services.outbox if k == "declaration"]
    assert actions == ["start_order", "scrap", "stop_reason", "note", "note"]
    assert {b["operator"] for _, k, b in services.outbox if k == "declaration"} == {"op-17"}
    scrap = next(b for _, k, b in services.outbox if b.get("action") == "scrap")
    assert (scrap["qty"], scrap["reason"]) == (3, "burr")
    cons = next(b for _, k, b in services.outbox if k == "consumption")
    assert (cons["item"], cons["lot"], cons["qty"]) == ("STEEL-S235", "LOT-4711", 12.5)
    assert next(b for _, k, b in services.outbox if k == "quality")["verdict"] == "nok"


def test_double_tap_declares_once(page: Any, served: tuple[str, Any]) -> None:
    base, services = served
    checks.login(page, base, operator="op-23", pin="9876", machine="lathe-02")
    page.fill("#scrap", "2")
    page.select_option("#scrap_reason", "surface")
    checks.confirm(page, lambda: page.get_by_role("button", name="Declare").dblclick())
    page.wait_for_timeout(300)  # let a second request, if any, land
    assert [b["qty"] for _, _, b in services.outbox] == [2]


def test_wrong_pin_is_explained(page: Any, served: tuple[str, Any]) -> None:
    base, _ = served
    page.goto(f"{base}/tablet/login")
    page.select_option("#operator", "op-17")
    page.fill("#pin", "0000")
    page.locator("form:has(#pin) button[type=submit]").click()
    assert "Wrong PIN" in page.locator("#login-message").inner_text()


@pytest.mark.parametrize("size", [(1280, 800), (800, 1280)], ids=["landscape", "portrait"])
def test_accessibility_basics(browser: Any, served: tuple[str, Any], size: tuple[int, int]) -> None:
    base, _ = served
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(base + "/tablet/login")
        assert checks.unlabelled(page) == [] and checks.small_targets(page) == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        orientation = "landscape" if size[0] > size[1] else "portrait"
        page.screenshot(path=str(ARTIFACTS / f"login-fr-{orientation}.png"), full_page=True)
        checks.login(page, base, operator="op-17", pin="1234", machine="press-01")
        page.get_by_role("button", name="Démarrer l’ordre WO-1001").click()
        page.wait_for_selector("#flash")
        for path in ("/tablet/", "/tablet/machines/press-01", "/tablet/machines/lathe-02"):
            page.goto(base + path)
            assert checks.unlabelled(page) == [], path
            assert checks.small_targets(page) == [], path
            assert checks.low_contrast(page, ".tile, .badge, .flash, .result, .btn") == [], path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size[0], f"{path} scrolls sideways at {size}"
        assert min(checks.state_contrasts(page).values()) >= 4.5, checks.state_contrasts(page)
        if size == (800, 1280):
            page.goto(base + "/tablet/machines/press-01")
            page.screenshot(path=str(ARTIFACTS / "machine-fr-portrait.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def served_fast() -> Iterator[tuple[str, MemoryTabletServices]]:
    """Board polling every 0.5 s and a 3 s idle timeout, to see both happen."""
    services = plant.services()
    app = FastAPI()
    settings = TabletSettings(poll_s=0.5, idle_timeout_s=3)
    app.include_router(create_tablet_router(services, plant.operators(), settings))
    with AppServer(app, free_port()) as server:
        yield server.url, services


def test_board_refreshes_by_itself(page: Any, served_fast: tuple[str, Any]) -> None:
    base, services = served_fast
    page.goto(f"{base}/tablet/")
    tile = page.locator("[data-machine=press-01]")
    assert "No active order" in tile.inner_text()

    def start() -> None:  # another tablet starts the order
        asyncio.run(
            services.order_action(
                machine_id="press-01",
                order="WO-1001",
                action=OrderAction.start,
                operator="op-23",
                key="x",
            )
        )

    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
    page.wait_for_function(
        "() => document.querySelector('[data-machine=press-01]').innerText.includes('WO-1001')",
        timeout=5000,
    )


def test_idle_operator_is_logged_out(page: Any, served_fast: tuple[str, Any]) -> None:
    base, _ = served_fast
    checks.login(page, base, operator="op-17", pin="1234", machine="press-01")
    page.wait_for_url(re.compile(r"/tablet/login\?expired=1"), timeout=8000)
    assert "inactivity" in page.locator("#login-message").inner_text()
    page.goto(f"{base}/tablet/machines/press-01")
    assert "/tablet/login" in page.url  # the server refuses the old session too


@pytest.fixture
def served_polling() -> Iterator[tuple[str, MemoryTabletServices]]:
    """Panels polling every second (poll_s 0.5), the normal idle timeout."""
    services = plant.services()
    app = FastAPI()
    app.include_router(
        create_tablet_router(services, plant.operators(), TabletSettings(poll_s=0.5))
    )
    with AppServer(app, free_port()) as server:
        yield server.url, services


def test_new_stops_appear_but_never_under_the_operators_finger(
    page: Any, served_polling: tuple[str, MemoryTabletServices]
) -> None:
    base, services = served_polling
    checks.login(page, base, operator="op-17", pin="1234", machine="press-01")
    stops = page.locator("form.stop")
    assert stops.count() == 2
    now = datetime.now(UTC)
    services.add_stop(PendingStop("s-new", "press-01", now - timedelta(minutes=3), now))
    page.wait_for_function("() => document.querySelectorAll('form.stop').length === 3")
    assert page.locator("form.stop").first.get_attribute("data-stop") == "s-new"
    # a reason chosen and not yet sent: the panel is left alone (no swap) despite a new stop
    page.locator("form.stop").first.locator("select").select_option("mech.jam")
    services.add_stop(PendingStop("s-newer", "press-01", now - timedelta(minutes=1), now))
    page.wait_for_timeout(2500)  # more than two polling periods
    assert stops.count() == 3
    checks.confirm(page, lambda: page.locator("form.stop").first.get_by_role("button").click())
    reasons = [b for _, k, b in services.outbox if b.get("action") == "stop_reason"]
    assert [b["reason"] for b in reasons] == ["mech.jam"]
