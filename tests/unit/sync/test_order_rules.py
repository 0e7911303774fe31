"""Pure rules of order tracking and downlink encoding."""

from __future__ import annotations

from typing import Any

from edge.config import parse_config
from edge.downlink import order_number, wire_values
from edge.orders import changes_for_running, next_order
from edge.sync import hello_body


def _wo(number: str, rank: int, machine: str = "m1", status: str = "released") -> dict[str, Any]:
    return {"number": number, "rank": rank, "machine": machine, "status": status, "qty": 10.0,
            "target": 10}  # fmt: skip


def test_next_order_takes_the_best_rank_the_floor_has_not_finished() -> None:
    orders = [_wo("WO-3", 3), _wo("WO-1", 1), _wo("WO-2", 2), _wo("WO-9", 1, machine="m2")]
    assert next_order(orders, "m1", {})["number"] == "WO-1"  # type: ignore[index]
    assert next_order(orders, "m1", {"WO-1": "completed"})["number"] == "WO-2"  # type: ignore[index]
    assert next_order(orders, "m3", {}) is None


def test_next_order_puts_unplanned_orders_last_and_skips_drafts() -> None:
    orders = [_wo("WO-0", 0), _wo("WO-5", 5), _wo("WO-D", 1, status="draft")]
    assert next_order(orders, "m1", {})["number"] == "WO-5"  # type: ignore[index]
    assert next_order(orders[:1], "m1", {})["number"] == "WO-0"  # type: ignore[index]


def test_a_re_ranking_changes_only_what_runs_next() -> None:
    before = [_wo("WO-1", 1), _wo("WO-2", 2)]
    after = [_wo("WO-1", 2), _wo("WO-2", 1)]
    running = {"m1": ("WO-1", 10)}
    assert changes_for_running(before, running) == []
    assert changes_for_running(after, running) == []  # no change to the running order
    assert next_order(after, "m1", {"WO-1": "in_progress"})["number"] == "WO-2"  # type: ignore[index]


def test_cancel_close_and_quantity_changes_of_the_running_order_are_flagged() -> None:
    running = {"m1": ("WO-1", 10), "m2": ("WO-7", 10)}
    resized = [{**_wo("WO-1", 1), "qty": 25.0, "target": 25}, _wo("WO-7", 1, "m2", "cancelled")]
    assert changes_for_running(resized, running) == [
        ("m1", "WO-1", "qty", 25),
        ("m2", "WO-7", "cancel", None),
    ]
    assert changes_for_running([], {"m1": ("WO-1", 10)}) == [("m1", "WO-1", "cancel", None)]


def test_order_number_is_the_last_run_of_digits() -> None:
    assert order_number("WO-1002") == 1002
    assert order_number("2026-WO-0042") == 42
    assert order_number("REWORK") == 0
    assert order_number(None) == 0


CONFIG: dict[str, Any] = {
    "edge": {"id": "e1", "data_dir": "/tmp/unused", "timezone": "UTC"},
    "machines": [
        {"id": "press", "ideal_cycle_s": 1.0, "source": {
            "protocol": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840", "signals": {
                "count": {"node": "ns=2;s=P.Count"}, "order": {"node": "ns=2;s=P.ActiveOrder"},
                "target": {"node": "ns=2;s=P.TargetQty"}}}},
        {"id": "lathe", "ideal_cycle_s": 4.0, "source": {
            "protocol": "modbus", "host": "127.0.0.1", "signals": {
                "count": {"address": 0, "type": "uint32"},
                "order": {"address": 10, "type": "uint32"}}}},
    ],
}  # fmt: skip


def test_wire_values_follow_each_protocol() -> None:
    config = parse_config(CONFIG)
    press, lathe = config.machines
    assert wire_values(press, "WO-1001", 40) == [("order", "WO-1001"), ("target", 40.0)]
    assert wire_values(press, None, None) == [("order", ""), ("target", 0.0)]
    assert wire_values(lathe, "WO-1002", 30) == [("order", 1002.0)]  # no target mapped


def test_hello_lists_every_machine() -> None:
    body = hello_body(parse_config(CONFIG))
    assert [(m.id, m.protocol, m.ideal_cycle_s) for m in body.machines] == [
        ("press", "opcua", 1.0),
        ("lathe", "modbus", 4.0),
    ]
