"""Tablet declarations reach central: with central running, and after an outage.

Central runs as its own process (``atelier-central``, SQLite); the edge is the agent with its
DuckDB store and the production sync client, here without machine sources (the simulator-fed
flow is ``test_tablet_edge.py``): what matters is the road from the tablet to central.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import parse_config
from edge.store import Store
from simulators.demo_plant import Plant, Ports, edge_config
from simulators.demo_seed import Planner
from tests.browser import checks
from tests.browser.harness import RealEdge
from tests.e2e.support import seed, wait_for
from tests.support.services import MQTT_URL

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Plant]:
    plant = Plant(tmp_path / "plant", Ports.free(MQTT_URL), edge_id=f"tab-{uuid.uuid4().hex[:8]}")
    try:
        plant.start_central()
        yield plant
    finally:
        plant.stop()


def central_declarations(plant: Plant) -> list[tuple[str, str | None, str | None]]:
    with sqlite3.connect(plant.data_dir / "central" / "central.db") as db:
        rows = db.execute("SELECT action, operator, work_order FROM declarations ORDER BY seq")
        return [(str(a), o, w) for a, o, w in rows.fetchall()]


def open_order_page(page: Any, base: str) -> None:
    """The dispatch arrives from central by long-poll: reload until the order is listed."""
    checks.login(page, base, operator="op-17", pin="1234", machine="press-01")
    start = page.get_by_role("button", name="Start order WO-1001")
    for _ in range(60):
        if start.count():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError("the dispatch from central never reached the tablet")


def test_declarations_reach_central_also_after_an_outage(
    browser: Any, central: Plant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert central.tokens is not None and central.central is not None
    planner = Planner(central.central_url, central.tokens.admin)
    seed(central, planner)
    monkeypatch.setenv("ATELIER_EDGE_TOKEN", central.tokens.edge)
    data = edge_config(
        central.base,
        data_dir=tmp_path / "edge",
        ports=central.ports,
        central_url=central.central_url,
        auto_start=False,
    )
    data["operators"] = [
        {"id": "op-17", "name": "Alice Martin", "pin_sha256": hashlib.sha256(b"1234").hexdigest()}
    ]
    config = parse_config(data)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        with RealEdge(None, config, central.ports.edge_api, sync=True) as edge:
            page = context.new_page()
            open_order_page(page, edge.url)
            checks.confirm(
                page, lambda: page.get_by_role("button", name="Start order WO-1001").click()
            )
            page.fill("#scrap", "3")
            page.select_option("#scrap_reason", "dimension")
            checks.confirm(page, lambda: page.get_by_role("button", name="Declare").click())
            wait_for(
                lambda: (
                    (w := planner.work_order("WO-1001"))["qty_scrap"] == 3
                    and w["status"] == "in_progress"
                ),
                20,
                "the scrap at central",
            )

            central.central.stop()  # central down: the tablet keeps working on the edge
            page.fill("#scrap", "2")
            page.select_option("#scrap_reason", "surface")
            checks.confirm(page, lambda: page.get_by_role("button", name="Declare").click())
            pending = edge.call_store(Store.outbox_pending)
            assert any(
                r.payload.get("qty") == 2 and r.payload.get("action") == "scrap" for r in pending
            )

            central.start_central()  # back: the outbox drains by itself
            wait_for(
                lambda: planner.work_order("WO-1001")["qty_scrap"] == 5,
                30,
                "the scrap declared during the outage at central",
            )
    finally:
        context.close()
        planner.close()
    mine = [d for d in central_declarations(central) if d[2] == "WO-1001"]
    assert [a for a, _, _ in mine] == ["start_order", "scrap", "scrap"]
    assert {o for _, o, _ in mine} == {"op-17"}
