"""Shared pieces of the end-to-end tests: a fast plant with unique ids, truth per order."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from simulators.demo_plant import EDGE_YAML, Plant, Ports
from simulators.demo_seed import OrderSeed, Planner, component_receipts, seed_plant
from simulators.truth import read_jsonl
from tests.support.services import MQTT_URL, mqtt_broker

HERE = Path(__file__).parent
SCENARIO = HERE / "scenario.yaml"
ORDERS = (
    OrderSeed("WO-1001", "BRACKET-10", 40, "press-01", "ACME", 1),
    OrderSeed("WO-1004", "BRACKET-10", 25, "press-01", "CASA", 3),
    OrderSeed("WO-2001", "SHAFT-20", 30, "lathe-02", "BOLT", 2),
    OrderSeed("WO-3001", "PANEL-30", 20, "oven-03", "CASA", 2),
)
BOM = {"BRACKET-10": {"SHEET-2MM": 1.0, "RIVET-M4": 4.0}, "SHAFT-20": {"BAR-40": 0.25},
       "PANEL-30": {"RESIN-7": 0.5}}  # fmt: skip
T = TypeVar("T")


def make_plant(tmp: Path, *, oven_order_at_s: float = 12.0) -> Plant:
    """The e2e scenario with a unique MQTT topic and edge id (tests may run side by side)."""
    mqtt_broker()  # skip on a dev machine without Mosquitto, fail in CI
    tag = uuid.uuid4().hex[:8]
    topic = f"atelier-e2e/{tag}/oven-03/telemetry"
    scenario = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    for m in scenario["machines"]:
        if m["id"] == "oven-03":
            m["source"]["topic"] = topic
            m["events"][0]["at_s"] = oven_order_at_s
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    base = yaml.safe_load(EDGE_YAML.read_text(encoding="utf-8"))
    oven = next(m for m in base["machines"] if m["id"] == "oven-03")
    return Plant(
        tmp / "plant",
        Ports.free(MQTT_URL),
        scenario=path,
        edge_id=f"e2e-{tag}",
        edge_overrides={"oven-03": {"source": {**oven["source"], "url": MQTT_URL, "topic": topic}}},
    )


def seed(plant: Plant, planner: Planner) -> None:
    seed_plant(planner, plant.edge_id, plant.machine_cycles(), orders=ORDERS)


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str, poll_s: float = 0.5) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def truth_by_order(path: Path) -> dict[str, tuple[int, int]]:
    """(good, scrap) per work order from the simulators' truth: each cycle under its order."""
    current: dict[str, str | None] = {}
    made: dict[str, list[int]] = {}
    for event in read_jsonl(path):
        machine, kind = str(event.get("machine")), event.get("kind")
        if kind == "order":
            current[machine] = event.get("order")
        elif kind == "cycle":
            order = current.get(machine)
            assert order is not None, f"{machine} made a part without an order: {event}"
            counts = made.setdefault(order, [0, 0])
            counts[1 if event.get("rejected") else 0] += 1
    return {order: (good, scrap) for order, (good, scrap) in made.items()}


def all_completed(planner: Planner) -> dict[str, dict[str, Any]] | None:
    orders = {o.number: planner.work_order(o.number) for o in ORDERS}
    done = all(o["status"] == "completed" for o in orders.values())
    return orders if done else None


def check_against_truth(plant: Plant, planner: Planner) -> None:
    """Central's good/scrap per order = truth; stock moved by the BOM and by good parts."""
    orders = wait_for(lambda: all_completed(planner), 120, "every order completed at central")
    assert plant.sims is not None
    assert plant.sims.stop() == 0, plant.sims.tail()  # flushes the truth file to its last event
    truth = truth_by_order(plant.truth_path)
    for number, wo in orders.items():
        good, scrap = truth[number]
        assert (wo["qty_good"], wo["qty_scrap"]) == (good, scrap), (number, wo, truth[number])
        assert good == wo["qty"]  # the machine stopped at the target written to it
    # central booked every record once: good = target, so a duplicate would show as a surplus
    stock = planner.stock()
    produced: dict[str, float] = {}
    consumed: dict[str, float] = {}
    for seed_order in ORDERS:
        good = truth[seed_order.number][0]
        produced[seed_order.item] = produced.get(seed_order.item, 0.0) + good
        for component, qty_per in BOM[seed_order.item].items():
            consumed[component] = consumed.get(component, 0.0) + qty_per * good
    for item, qty in produced.items():
        assert stock.get(item) == qty, (item, stock)
    received = component_receipts(orders=ORDERS)
    for component, qty in consumed.items():
        assert 0 < received[component] - qty == stock.get(component), (component, stock)
