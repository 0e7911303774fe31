"""The tablet of a real edge (agent + DuckDB store) fed by the OPC UA, Modbus and MQTT
simulators, driven in Chromium: every operator action lands in the edge's outbox with the
operator's id. Writes the review screenshots (board and machine page, English and French,
1280x800) to ``artifacts/screenshots/``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.contract import Dispatch, DispatchWorkOrder, QualitySpec, Record
from edge.config import parse_config
from edge.store import Store
from tests.browser import checks
from tests.browser.harness import ARTIFACTS, RealEdge
from tests.integration.edge.plant import Plant
from tests.support.services import free_port, mqtt_broker

pytestmark = [pytest.mark.browser, pytest.mark.integration]


class StoppingPlant(Plant):
    """Held stopped, then runs 3 s and stops 5 s, over and over: whenever the edge has
    connected (later on a busy machine), it soon sees a stop the operator must justify."""

    def _events(self) -> list[dict[str, Any]]:
        stops = [
            {"at_s": self.hold_s + 3 + 8 * k, "state": "stopped", "duration_s": 5}
            for k in range(30)
        ]
        return [{"at_s": 0, "state": "stopped", "duration_s": self.hold_s}, *stops]


def dispatch(edge_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    limits = {"item": "BRK-220", "characteristic": "diameter", "unit": "mm"}
    orders = [
        DispatchWorkOrder(
            number="WO-5001",
            item="BRK-220",
            qty=400,
            machine="press-01",
            status="released",
            due=now + timedelta(days=2),
            priority=10,
            customer="Renault",
            customer_priority_class="A",
            rank=1,
            target=400,
            revision=1,
            quality_specs=[
                QualitySpec(**limits, lsl=9.9, usl=10.1),
                QualitySpec(**limits, lsl=9.95, usl=10.05, customer="Renault"),
            ],
        ),
        DispatchWorkOrder(
            number="WO-5002",
            item="BRK-310",
            qty=200,
            machine="press-01",
            status="released",
            due=now + timedelta(days=4),
            priority=20,
            customer="Valeo",
            customer_priority_class="B",
            rank=2,
            target=200,
            revision=1,
        ),
        DispatchWorkOrder(
            number="WO-6001",
            item="SHF-12",
            qty=80,
            machine="lathe-02",
            status="released",
            due=now + timedelta(days=1),
            priority=5,
            customer="Safran",
            customer_priority_class="A",
            rank=1,
            target=80,
            revision=1,
        ),
    ]
    body = Dispatch(version=1, generated_at=now, edge_id=edge_id, work_orders=orders)
    return body.model_dump(mode="json")


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[RealEdge]:
    host, port = mqtt_broker()
    plant = StoppingPlant(
        opcua_port=free_port(),
        modbus_port=free_port(),
        mqtt_host=host,
        mqtt_port=port,
        hold_s=3.0,
        run_s=0.0,
    )
    data = plant.edge_config(tmp_path / "edge", free_port())
    data["defaults"] = {"stop_threshold_s": 2}
    data["operators"] = [
        {
            "id": "op-17",
            "name": "Alice Martin",
            "pin_sha256": hashlib.sha256(b"1234").hexdigest(),
            "badge": "BADGE-0017",
        },
        {"id": "op-23", "name": "Bruno Petit", "pin_sha256": hashlib.sha256(b"9876").hexdigest()},
    ]
    config = parse_config(data)
    with RealEdge(plant.scenario(), config, config.edge.api.port) as running:
        body = dispatch(config.edge.id)
        running.call_store(
            lambda s: s.save_dispatch(version=1, received_ns=time.time_ns(), body=body)
        )
        yield running


def wait_for_stop(page: Any, url: str, timeout_s: float = 45.0) -> Any:
    """Open the machine page once: its stops panel refreshes by itself until a stop shows."""
    page.goto(url)
    page.wait_for_selector("form.stop", timeout=timeout_s * 1000)
    return page.locator("form.stop").first


SHIFT_OEE_JS = """() => {
  const oee = document.querySelector('.tile[data-machine=press-01] .tile-oee');
  return oee !== null && (oee.textContent.match(/\\d\\s?%/g) || []).length === 4;
}"""


TIMELINE_JS = """() => [...document.querySelectorAll('#chart rect.seg')]
  .reduce((sum, r) => sum + parseFloat(r.getAttribute('width')), 0)"""


def wait_for_shift_oee(page: Any, base: str) -> str:
    """The board shows the shift's OEE, A, P and Q of press-01 as percentages (the edge's
    shift OEE job runs every few seconds; the board polls)."""
    page.goto(f"{base}/tablet/")
    page.wait_for_function(SHIFT_OEE_JS, timeout=20_000)
    text: str = page.locator(".tile[data-machine=press-01] .tile-oee").inner_text()
    return text


def shoot(page: Any, base: str, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base}/tablet/")
    page.screenshot(path=str(ARTIFACTS / f"board-{name}.png"), full_page=True)
    page.goto(f"{base}/tablet/machines/press-01")
    page.screenshot(path=str(ARTIFACTS / f"machine-{name}.png"), full_page=True)


def test_operator_actions_reach_the_edge_outbox(browser: Any, edge: RealEdge) -> None:
    base = edge.url
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        page = context.new_page()
        checks.login(page, base, operator="op-17", pin="1234", machine="press-01")
        checks.confirm(page, lambda: page.get_by_role("button", name="Start order WO-5001").click())
        page.fill("#scrap", "3")
        page.select_option("#scrap_reason", "dimension")
        checks.confirm(page, lambda: page.get_by_role("button", name="Declare").click())
        page.focus("#item")
        page.keyboard.type("STEEL-S235\n")
        page.keyboard.type("LOT-4711\n")
        checks.confirm(page, lambda: page.keyboard.type("12.5\n"))
        diameter = page.locator("form.quality[data-characteristic=diameter]")
        assert "9.950 – 10.050" in diameter.inner_text()  # the customer's limits
        diameter.locator("input[name=value]").fill("10.2")
        assert "OUT OF LIMITS" in checks.confirm(
            page, lambda: diameter.get_by_role("button").click()
        )
        stop = wait_for_stop(page, f"{base}/tablet/machines/press-01")
        stop.locator("select").select_option("mechanical")
        checks.confirm(page, lambda: stop.get_by_role("button").click())

        oee = wait_for_shift_oee(page, base)
        assert "–" not in oee, oee
        # no shift in this config: the chart shows the time since the edge first saw the
        # machine (under an hour here), so the state timeline fills its width (1000 units)
        page.goto(f"{base}/tablet/machines/press-01")
        covered = page.evaluate(TIMELINE_JS)
        assert covered >= 900, covered
        assert page.locator("#chart h2").inner_text() == "Last hour"
        for path in ("/tablet/", "/tablet/machines/press-01"):
            page.goto(base + path)
            assert checks.unlabelled(page) == [], path
            assert checks.small_targets(page) == [], path
            assert checks.low_contrast(page, ".tile, .badge, .btn") == [], path
        shoot(page, base, "en")
        page.get_by_role("link", name="Français").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "fr"
        shoot(page, base, "fr")
        page.set_viewport_size({"width": 800, "height": 1280})
        shoot(page, base, "fr-portrait-edge")
    finally:
        context.close()

    rows = edge.call_store(Store.outbox_pending)
    records = [Record(seq=r.seq, kind=r.kind, ts=datetime.now(UTC), body=r.payload) for r in rows]
    mine = [r.body.model_dump() for r in records if r.kind == "declaration"]
    assert {d["operator"] for d in mine} == {"op-17"}
    assert [d["action"] for d in mine] == ["start_order", "scrap", "note", "note", "stop_reason"]
    assert (mine[1]["qty"], mine[1]["reason"], mine[1]["work_order"]) == (3, "dimension", "WO-5001")
    by_kind = {r.kind: r.body.model_dump() for r in records}
    assert (by_kind["consumption"]["lot"], by_kind["consumption"]["work_order"]) == (
        "LOT-4711",
        "WO-5001",
    )
    assert by_kind["quality"]["verdict"] == "nok"
    justified = [r.body.model_dump() for r in records if r.kind == "stop"]
    assert any(s["reason"] == "mechanical" for s in justified)
    active = edge.call_store(Store.active_orders)
    assert active["press-01"].work_order == "WO-5001"
