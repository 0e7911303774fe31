"""Central + simulators + edge as separate processes, real HTTP, real Mosquitto.

Released orders reach the machines (downlink), the machines' parts flow back as progress and
consumption, and central's figures equal the simulators' ground truth.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from asyncua import Client

from simulators.demo_plant import Plant
from simulators.demo_procs import wait_port
from simulators.demo_seed import Planner
from simulators.truth import read_jsonl
from tests.e2e.support import check_against_truth, make_plant, seed, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def _read_downlink_nodes(endpoint: str) -> tuple[str, int]:
    async with Client(endpoint, timeout=5) as client:
        order = await client.get_node("ns=2;s=Press01.ActiveOrder").read_value()
        target = await client.get_node("ns=2;s=Press01.TargetQty").read_value()
    return str(order), int(target)


def _press_nodes(endpoint: str) -> tuple[str, int] | None:
    """ActiveOrder/TargetQty once the edge wrote WO-1001 (None before)."""
    values = asyncio.run(_read_downlink_nodes(endpoint))
    return values if values[0] == "WO-1001" else None


def _downlinked(plant: Plant, machine: str, order: str) -> list[dict[str, object]]:
    """Truth events of ``machine`` from the downlink of ``order`` on (order change, setup...)."""
    events = [e for e in read_jsonl(plant.truth_path) if e.get("machine") == machine]
    for i, e in enumerate(events):
        if e.get("kind") == "order" and e.get("order") == order and e.get("cause") == "downlink":
            after = events[i:]
            running = any(x.get("state") == "running" for x in after if x.get("kind") == "state")
            return after if running else []  # the truth file is flushed every second
    return []


def test_orders_flow_from_central_to_plc_and_back(tmp_path: Path) -> None:
    plant = make_plant(tmp_path)
    try:
        tokens = plant.start_central()
        with Planner(plant.central_url, tokens.admin) as planner:
            seed(plant, planner)
            plant.start_edge()
            sims = plant.start_sims()
            wait_port("127.0.0.1", plant.ports.opcua, sims)
            # downlink: the OPC UA PLC shows the order and target the edge started
            endpoint = f"opc.tcp://127.0.0.1:{plant.ports.opcua}"
            nodes = wait_for(
                lambda: _press_nodes(endpoint),
                30,
                "ActiveOrder on the OPC UA simulator",
            )
            assert nodes == ("WO-1001", 40)
            # the Modbus PLC registered the numeric part (WO-{} in its scenario) and the target
            lathe = wait_for(
                lambda: _downlinked(plant, "lathe-02", "WO-2001"), 30, "order on the Modbus PLC"
            )
            press = wait_for(
                lambda: _downlinked(plant, "press-01", "WO-1001"), 10, "press setup in truth"
            )
            for events, target in ((press, 40), (lathe, 30)):
                states = [e["state"] for e in events if e.get("kind") == "state"]
                assert states[:2] == ["setup", "running"], events[:4]
                assert any(e.get("target") == target for e in events if e.get("kind") == "order")
            check_against_truth(plant, planner)
    finally:
        plant.stop()
    assert plant.edge is not None and plant.edge.proc is not None
    assert plant.edge.proc.returncode == 0, plant.edge.tail()
