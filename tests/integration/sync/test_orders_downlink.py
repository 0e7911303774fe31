"""Order tracking on a real DuckDB store, and downlink to a real OPC UA PLC (simulator)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from connectors.base import Connector
from edge.config import EdgeConfig, parse_config
from edge.downlink import Downlink
from edge.orders import (
    MachinePolicy,
    apply_dispatch,
    confirm_change,
    downlink_pending,
    pending_changes,
    track,
)
from edge.sources import connector_factories
from edge.store import Store
from edge.writer import StoreWriter
from simulators.layout import OpcUaLayout
from simulators.machine import Behaviour, MachineModel, MachineSpec
from simulators.opcua_plc import OpcUaPlc
from tests.support.services import free_port

pytestmark = pytest.mark.integration

BOM = [{"item": "SHEET", "qty_per": 1.0, "backflush": True},
       {"item": "RIVET", "qty_per": 4.0, "backflush": True},
       {"item": "LABEL", "qty_per": 1.0, "backflush": False}]  # fmt: skip


def _dispatch(*orders: tuple[str, int, int]) -> dict[str, Any]:
    return {
        "work_orders": [
            {"number": n, "item": "BRACKET", "qty": float(t), "target": t, "machine": "press-01",
             "status": "released", "rank": r, "bom": BOM}
            for n, r, t in orders
        ]
    }  # fmt: skip


def _receive(store: Store, body: dict[str, Any], version: int = 1) -> None:
    """What the sync client does with a new dispatch: store it, then apply it."""
    store.save_dispatch(version=version, received_ns=time.time_ns(), body=body)
    apply_dispatch(store, body, time.time_ns())


def _produce(store: Store, order: str | None, good: int, reject: int) -> None:
    """What the analytics write for a run: a production row and its outbox record together."""
    now = time.time_ns()
    with store.transaction() as tx:
        seq = tx.outbox("production", now, {"machine": "press-01", "work_order": order})
        tx.con.execute(
            "INSERT INTO production VALUES ('press-01', ?, ?, ?, ?, ?, ?, ?)",
            [order, now - 10**9, now, good + reject, good, reject, seq],
        )


def _outbox(store: Store, kind: str) -> list[dict[str, Any]]:
    rows = store.con.execute(
        "SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", [kind]
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_auto_start_backflush_end_at_target_and_next_order(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.open()
    policy = [MachinePolicy("press-01", auto_start=True, downlink=True)]
    _receive(store, _dispatch(("WO-2", 2, 5), ("WO-1", 1, 10)))
    first = track(store, policy, time.time_ns())
    assert first.started == (("press-01", "WO-1"),)
    assert store.active_orders()["press-01"].work_order == "WO-1"
    _produce(store, "WO-1", 6, 1)
    track(store, policy, time.time_ns())
    track(store, policy, time.time_ns())  # a second pass backflushes nothing twice
    _produce(store, "WO-1", 4, 0)
    result = track(store, policy, time.time_ns())
    assert result.completed == (("press-01", "WO-1"),)
    assert result.started == (("press-01", "WO-2"),)
    consumed: dict[str, float] = {}
    for body in _outbox(store, "consumption"):
        assert body["work_order"] == "WO-1" and body["machine"] == "press-01"
        consumed[body["item"]] = consumed.get(body["item"], 0.0) + body["qty"]
    assert consumed == {"SHEET": 10.0, "RIVET": 40.0}  # good parts only; LABEL not backflushed
    actions = [(b["action"], b["work_order"]) for b in _outbox(store, "declaration")]
    assert actions == [
        ("start_order", "WO-1"),
        ("complete_order", "WO-1"),
        ("start_order", "WO-2"),
    ]
    assert downlink_pending(store) == [("press-01", "WO-2", 5, 0)]
    store.close()


def _config(tmp_path: Path, port: int) -> EdgeConfig:
    return parse_config(
        {
            "edge": {"id": "e1", "data_dir": str(tmp_path), "timezone": "UTC"},
            "machines": [
                {
                    "id": "press-01",
                    "ideal_cycle_s": 0.1,
                    "source": {
                        "protocol": "opcua",
                        "endpoint": f"opc.tcp://127.0.0.1:{port}",
                        "signals": {
                            "count": {"node": "ns=2;s=Press01.Count"},
                            "order": {"node": "ns=2;s=Press01.ActiveOrder"},
                            "target": {"node": "ns=2;s=Press01.TargetQty"},
                        },
                    },
                }
            ],
        }
    )


async def test_downlink_retries_until_the_plc_has_the_order(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, port)
    machine = config.machines[0]
    model = MachineModel(
        MachineSpec(
            "press-01", 0.1, Behaviour(setup_s=0.5), requires_order=True,
            source=OpcUaLayout("Press01"),
        ),
        1,
    )  # fmt: skip
    live: dict[str, Connector] = {}
    failed: list[str] = []
    registry = CollectorRegistry()
    async with StoreWriter(Store(tmp_path)) as writer:
        await writer.call(_receive, _dispatch(("WO-1001", 1, 40)))
        policy = [MachinePolicy("press-01", auto_start=True, downlink=True)]
        await writer.call(track, policy, time.time_ns())
        downlink = Downlink(
            {"press-01": machine}, writer, live.get, registry=registry,
            on_failure=failed.append, backoff_cap_s=0.2,
        )  # fmt: skip
        assert await downlink.write_pending() == 0  # the source is not connected yet
        assert failed == ["press-01"]
        assert registry.get_sample_value(
            "edge_downlink_failures_total", {"machine": "press-01"}
        ) == 1.0  # fmt: skip
        assert await writer.call(downlink_pending) == [("press-01", "WO-1001", 40, 1)]
        async with (
            OpcUaPlc([model], port=port, tick_s=0.05),
            connector_factories(config)["press-01"]() as connector,
        ):
            live["press-01"] = connector
            deadline = time.monotonic() + 10
            while await writer.call(downlink_pending) and time.monotonic() < deadline:
                await downlink.write_pending()
                await asyncio.sleep(0.1)
            assert await writer.call(downlink_pending) == []
            await asyncio.sleep(0.3)  # the PLC scans its downlink nodes every tick
    orders = model.truth.order_changes()
    assert [(e.order, e.target, e.cause) for e in orders][-1] == ("WO-1001", 40, "downlink")
    assert "setup" in [e.state for e in model.truth.state_changes()]
    assert downlink.status.failing == {}


def test_changes_to_the_running_order_wait_for_the_operator(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.open()
    policy = [MachinePolicy("press-01", auto_start=True)]
    _receive(store, _dispatch(("WO-1", 1, 10)))
    track(store, policy, time.time_ns())
    _produce(store, "WO-1", 3, 0)
    for version, target in ((2, 20), (3, 30)):  # two successive quantity changes
        _receive(store, _dispatch(("WO-1", 1, target)), version)
        assert [(c.kind, c.target) for c in pending_changes(store)] == [("qty", target)]
        assert store.active_orders()["press-01"].target == target - 10  # not applied yet
        assert confirm_change(store, machine="press-01", work_order="WO-1", now_ns=time.time_ns())
        assert store.active_orders()["press-01"].target == target
        assert pending_changes(store) == []
    _receive(store, _dispatch(), 4)  # closed at central: the order left the dispatch
    assert [(c.kind, c.work_order) for c in pending_changes(store)] == [("cancel", "WO-1")]
    track(store, policy, time.time_ns())
    assert store.active_orders()["press-01"].work_order == "WO-1"  # still running, still counting
    assert confirm_change(store, machine="press-01", work_order="WO-1", now_ns=time.time_ns())
    assert store.active_orders()["press-01"].work_order is None
    made = store.con.execute("SELECT sum(good) FROM production WHERE work_order = 'WO-1'")
    assert made.fetchone() == (3,)
    store.close()


def test_declared_lots_replace_the_backflush_of_their_component(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.open()
    policy = [MachinePolicy("press-01", auto_start=True)]
    _receive(store, _dispatch(("WO-1", 1, 100)))
    track(store, policy, time.time_ns())
    with store.transaction() as tx:  # the operator scans a lot of rivets for the order
        body = {"work_order": "WO-1", "item": "RIVET", "lot": "L-77", "qty": 500.0}
        tx.outbox("consumption", time.time_ns(), body)
    _produce(store, "WO-1", 5, 0)
    track(store, policy, time.time_ns())
    backflushed = [(b["item"], b["qty"]) for b in _outbox(store, "consumption") if "lot" not in b]
    assert backflushed == [("SHEET", 5.0)]
    store.close()
