"""StoreTabletServices over a real DuckDB file through the edge's writer thread."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from central.contract import Dispatch, DispatchWorkOrder, QualitySpec, Record
from edge.config import EdgeConfig, parse_config
from edge.store import Store
from edge.tablet.config import directory_from_config
from edge.tablet.errors import UnknownMachine, UnknownOrder, UnknownStop
from edge.tablet.models import OrderAction, OrderStatus
from edge.tablet.store_services import StoreTabletServices, to_ns
from edge.writer import StoreWriter

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime.now(UTC)


def edge_config(data_dir: Path, *, shifts: bool = True) -> EdgeConfig:
    data = yaml.safe_load((ROOT / "config" / "edge.yaml").read_text())
    data["edge"]["data_dir"] = str(data_dir)
    if not shifts:
        data["shifts"] = []
    data["operators"] = [
        {
            "id": "op-17",
            "name": "Alice",
            "pin_sha256": hashlib.sha256(b"1234").hexdigest(),
            "badge": "B17",
        },
    ]
    return parse_config(data)


@dataclass(frozen=True)
class Row:
    id: str
    state: str
    state_since: datetime | None
    good: int
    reject: int
    availability: float | None
    performance: float | None
    quality: float | None
    last_sample_at: datetime | None
    shift: str | None = "morning"


class Live:
    def __init__(self) -> None:
        self.rows = [
            Row("press-01", "running", NOW - timedelta(minutes=5), 100, 2, 0.9, 0.8, 0.98, NOW)
        ]

    async def machines(self) -> list[Row]:
        return self.rows


def dispatch() -> dict[str, object]:
    spec = {"item": "BRK", "characteristic": "diameter", "unit": "mm"}
    orders = [
        DispatchWorkOrder(
            number="WO-2",
            item="BRK",
            qty=100,
            machine="press-01",
            status="released",
            due=NOW + timedelta(days=3),
            priority=1,
            customer="Renault",
            customer_priority_class="A",
            rank=2,
            target=100,
            revision=1,
            quality_specs=[
                QualitySpec(**spec, lsl=9.9, usl=10.1),
                QualitySpec(**spec, lsl=9.95, usl=10.05, customer="Renault"),
                QualitySpec(**spec, lsl=9.0, usl=11.0, customer="Other"),
            ],
        ),
        DispatchWorkOrder(
            number="WO-1",
            item="AXL",
            qty=50,
            machine="press-01",
            status="released",
            due=None,
            priority=5,
            rank=1,
            target=50,
            revision=1,
        ),
        DispatchWorkOrder(
            number="WO-9",
            item="AXL",
            qty=50,
            machine="lathe-02",
            status="released",
            due=None,
            priority=5,
            rank=1,
            target=50,
            revision=1,
        ),
    ]
    body = Dispatch(version=3, generated_at=NOW, edge_id="lyon-cell-1", work_orders=orders)
    return body.model_dump(mode="json")


@dataclass
class Env:
    services: StoreTabletServices
    writer: StoreWriter
    config: EdgeConfig
    live: Live

    async def outbox(self) -> list[Record]:
        rows = await self.writer.call(Store.outbox_pending)
        return [Record(seq=r.seq, kind=r.kind, ts=NOW, body=r.payload) for r in rows]

    def restart(self) -> StoreTabletServices:
        return StoreTabletServices(writer=self.writer, config=self.config, live=self.live)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    config = edge_config(tmp_path)
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(Store.save_dispatch, version=3, received_ns=to_ns(NOW), body=dispatch())
        live = Live()
        yield Env(
            StoreTabletServices(writer=writer, config=config, live=live), writer, config, live
        )


def add_stop(store: Store, machine: str, start: datetime, end: datetime, category: str) -> None:
    store.con.execute(
        "INSERT INTO events (machine, kind, start_ns, end_ns, detail) VALUES (?, 'stop', ?, ?, ?)",
        [machine, to_ns(start), to_ns(end), f'{{"category": "{category}"}}'],
    )


async def test_dispatch_list_in_rank_order_with_customer_priority(env: Env) -> None:
    entries = await env.services.dispatch_list("press-01")
    assert [(e.number, e.priority, e.customer) for e in entries] == [
        ("WO-1", "5", None),
        ("WO-2", "A", "Renault"),
    ]
    assert entries[1].due == (NOW + timedelta(days=3)).astimezone(env.config.edge.tz).date()
    with pytest.raises(UnknownMachine):
        await env.services.dispatch_list("nope")


async def test_start_order_sets_active_order_and_customer_limits(env: Env) -> None:
    svc = env.services
    r = await svc.order_action(
        machine_id="press-01",
        order="WO-2",
        action=OrderAction.start,
        operator="op-17",
        key="k-start",
    )
    entries = await svc.dispatch_list("press-01")
    assert entries[1].status is OrderStatus.in_progress
    active = await env.writer.call(Store.active_orders)
    assert (active["press-01"].work_order, active["press-01"].target) == ("WO-2", 100)
    tile = await svc.machine("press-01")
    assert (tile.active_order, tile.item, tile.state, tile.good) == ("WO-2", "BRK", "running", 100)
    specs = await svc.quality_specs("press-01")
    assert [(s.lower, s.upper, s.customer) for s in specs] == [(9.95, 10.05, "Renault")]
    [record] = await env.outbox()
    assert record.seq == r.seq and record.kind == "declaration"
    assert record.body.model_dump()["operator"] == "op-17"


async def test_idempotency_survives_a_restart(env: Env) -> None:
    await env.services.order_action(
        machine_id="press-01", order="WO-1", action=OrderAction.start, operator="op-17", key="same"
    )
    again = await env.restart().order_action(
        machine_id="press-01", order="WO-1", action=OrderAction.start, operator="op-17", key="same"
    )
    assert again.duplicate and again.kind == "order_start"
    assert len(await env.outbox()) == 1


async def test_declarations_reach_the_outbox_with_the_operator(env: Env) -> None:
    svc = env.services
    await svc.order_action(
        machine_id="press-01", order="WO-2", action=OrderAction.start, operator="op-17", key="a"
    )
    await svc.declare_counts(
        machine_id="press-01", good=0, scrap=3, scrap_reason="dimension", operator="op-17", key="b"
    )
    await svc.consume(
        machine_id="press-01",
        item="STEEL",
        lot="L-77",
        qty=12.5,
        uom="kg",
        operator="op-17",
        key="c",
    )
    q = await svc.record_quality(
        machine_id="press-01", characteristic="diameter", value=10.07, operator="op-17", key="d"
    )
    assert q.summary["verdict"] == "fail"
    records = await env.outbox()
    decls = [r.body.model_dump() for r in records if r.kind == "declaration"]
    assert {d["operator"] for d in decls} == {"op-17"}
    assert [d["action"] for d in decls] == ["start_order", "scrap", "note", "note"]
    assert decls[1]["qty"] == 3 and decls[1]["reason"] == "dimension"
    kinds = [r.kind for r in records]
    assert kinds.count("consumption") == 1 and kinds.count("quality") == 1
    assert next(r for r in records if r.kind == "quality").body.model_dump()["verdict"] == "nok"
    assert (await svc.dispatch_list("press-01"))[1].qty_scrap == 3
    results = await svc.quality_results("press-01")
    assert [(r.value, r.verdict, r.upper) for r in results] == [(10.07, "fail", 10.05)]


async def test_only_unplanned_stops_need_a_reason(env: Env) -> None:
    t = NOW - timedelta(hours=1)

    def stops(store: Store) -> None:
        add_stop(store, "press-01", t, t + timedelta(minutes=12), "unplanned")
        add_stop(store, "press-01", t + timedelta(minutes=20), t + timedelta(minutes=30), "setup")

    await env.writer.call(stops)
    svc = env.services
    [stop] = await svc.pending_stops("press-01")
    assert stop.duration_s(NOW) == 720
    r = await svc.justify_stop(
        machine_id="press-01", stop_id=stop.id, reason="mechanical", operator="op-17", key="s"
    )
    assert await svc.pending_stops("press-01") == []
    with pytest.raises(UnknownStop):
        await svc.justify_stop(
            machine_id="press-01", stop_id=stop.id, reason="mechanical", operator="op-17", key="s2"
        )
    records = await env.outbox()
    assert r.seq == records[-1].seq
    stop_rec = next(x for x in records if x.kind == "stop").body.model_dump()
    assert stop_rec["reason"] == "mechanical" and stop_rec["start"] == stop.start
    assert stop_rec["category"] == "unplanned"
    tile = await svc.machine("press-01")
    assert tile.last_stop_end is not None
    assert abs((tile.last_stop_end - (t + timedelta(minutes=30))).total_seconds()) < 1e-3


async def test_shift_series_and_operators_from_config(env: Env) -> None:
    series = await env.services.shift_series("press-01", NOW)
    assert series.start <= NOW <= series.end and series.ideal_cycle_s == 1.0
    assert series.shift in {"morning", "afternoon", "night"}  # edge.yaml covers the clock
    assert series.segments[-1].state == "running"
    assert series.observed_from == series.segments[0].start  # no data before: no ideal either
    directory = directory_from_config(env.config.operators)
    assert directory.check_pin("op-17", "1234") is not None
    assert directory.check_pin("op-17", "4321") is None
    assert directory.check_badge("B17") is not None
    stop_codes = {leaf.code for root in env.services.stop_reasons() for leaf in root.leaves()}
    assert "mechanical" in stop_codes and "breakdown" not in stop_codes
    planned = {
        leaf.code for root in env.services.stop_reasons() for leaf in root.leaves() if leaf.planned
    }
    assert "maintenance" in planned and "mechanical" not in planned


async def test_store_down_is_said_and_nothing_is_confirmed(tmp_path: Path) -> None:
    """A writer that is not running: every read and write fails as StoreUnavailable, and the
    pages say so (503) instead of confirming or crashing."""
    import re

    import httpx
    from fastapi import FastAPI

    from edge.tablet import TabletSettings, create_tablet_router
    from edge.tablet.errors import StoreUnavailable

    config = edge_config(tmp_path)
    services = StoreTabletServices(writer=StoreWriter(Store(tmp_path)), config=config, live=Live())
    with pytest.raises(StoreUnavailable):
        await services.declare_counts(
            machine_id="press-01",
            good=0,
            scrap=1,
            scrap_reason="dimension",
            operator="op-17",
            key="k",
        )
    app = FastAPI()
    app.include_router(
        create_tablet_router(services, directory_from_config(config.operators), TabletSettings())
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        board = await client.get("/tablet/")
        assert board.status_code == 503 and "not available right now" in board.text
        login = await client.get("/tablet/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        await client.post("/tablet/login", data={"csrf": csrf, "operator": "op-17", "pin": "1234"})
        r = await client.post(
            "/api/v1/machines/press-01/counts",
            data={"csrf": csrf, "idem": "k1", "scrap": "1", "scrap_reason": "dimension"},
        )
        assert r.status_code == 503 and "Not stored" in r.text and "Stored (" not in r.text


async def test_central_change_to_a_running_order_needs_the_operator(env: Env) -> None:
    from edge.orders import apply_dispatch

    svc = env.services
    await svc.order_action(
        machine_id="press-01", order="WO-2", action=OrderAction.start, operator="op-17", key="start"
    )
    body = dispatch()
    body["work_orders"][0]["target"] = 150  # central resized the running order
    await env.writer.call(apply_dispatch, body, to_ns(NOW))
    [change] = await svc.order_changes("press-01")
    assert (change.work_order, change.kind, change.target) == ("WO-2", "qty", 150)
    r = await svc.confirm_change(machine_id="press-01", order="WO-2", operator="op-17", key="ok")
    assert r.kind == "change_confirmed"
    assert await svc.order_changes("press-01") == []
    assert (await env.writer.call(Store.active_orders))["press-01"].target == 150
    last = (await env.outbox())[-1].body.model_dump()
    assert (last["action"], last["operator"], last["work_order"]) == ("note", "op-17", "WO-2")
    with pytest.raises(UnknownOrder):
        await svc.confirm_change(machine_id="press-01", order="WO-2", operator="op-17", key="x")


def add_history(store: Store, first_state_at: datetime) -> None:
    """Stopped from ``first_state_at`` until 5 min ago (then the live row says running), and
    5 + 7 good parts a little less than 15 and 8 minutes ago."""
    store.con.execute(
        "INSERT INTO events (machine, kind, start_ns, end_ns, state) VALUES (?, 'state', ?, ?, ?)",
        ["press-01", to_ns(first_state_at), to_ns(NOW - timedelta(minutes=5)), "stopped"],
    )
    for minutes, good in ((15, 5), (8, 7)):
        at = to_ns(NOW - timedelta(minutes=minutes, seconds=-3))
        store.con.execute(
            "INSERT INTO production VALUES (?, NULL, ?, ?, ?, ?, 0, NULL)",
            ["press-01", at - 1_000_000_000, at, good, good],
        )


@pytest.mark.parametrize(
    ("seen_for", "window"),
    [(timedelta(minutes=20), timedelta(minutes=20)), (timedelta(hours=3), timedelta(hours=1))],
)
async def test_without_shift_the_chart_shows_the_last_hour_or_since_first_seen(
    tmp_path: Path, seen_for: timedelta, window: timedelta
) -> None:
    config = edge_config(tmp_path, shifts=False)
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(add_history, NOW - seen_for)
        services = StoreTabletServices(writer=writer, config=config, live=Live())
        series = await services.shift_series("press-01", NOW)
    assert series.shift is None
    assert (series.start, series.end, series.now) == (NOW - window, NOW, NOW)
    assert series.observed_from == series.start
    assert [(s.start, s.end, s.state) for s in series.segments] == [
        (NOW - window, NOW - timedelta(minutes=5), "stopped"),
        (NOW - timedelta(minutes=5), NOW, "running"),
    ]
    counts = [n for _, n in series.good_points]
    assert counts == [0, 5, 12, 12] and series.good_points[-1][0] == NOW  # flat until now
    # each count is placed at the end of its bucket (1/240 of the window)
    for (at, _), made in zip(series.good_points[1:3], (15, 8), strict=True):
        late = at - (NOW - timedelta(minutes=made, seconds=-3))
        assert timedelta(0) < late <= window / 240
