"""The edge agent in-process against the bundled simulators (OPC UA, Modbus, MQTT/Mosquitto)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from edge.agent import Agent
from edge.config import parse_config
from edge.store import Store
from simulators.runner import SimulationRunner
from tests.integration.edge.plant import MACHINES, Plant
from tests.support.services import free_port, mqtt_broker

pytestmark = pytest.mark.integration


def stored_totals(data_dir: Path) -> tuple[dict[str, tuple[int, int]], list[int]]:
    store = Store(data_dir)
    store.open()
    try:
        counts = store.production_counts(from_ns=0, to_ns=2**62)
        return {m: (c.total, c.reject) for m, c in counts.items()}, store.outbox_seqs()
    finally:
        store.close()


async def test_edge_totals_equal_simulator_truth(tmp_path: Path) -> None:
    host, port = mqtt_broker()
    plant = Plant(
        opcua_port=free_port(),
        modbus_port=free_port(),
        mqtt_host=host,
        mqtt_port=port,
        hold_s=4.0,
        run_s=8.0,
    )
    api_port = free_port()
    config = parse_config(plant.edge_config(tmp_path / "edge", api_port))
    async with (
        SimulationRunner(plant.scenario()) as sim,
        Agent(config, analytics_interval_s=0.5),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http,
    ):

        async def healthy() -> bool:
            return (await http.get("/health")).status_code == 200

        ok = False
        for _ in range(100):  # every source connects while the machines are still held
            if ok := await healthy():
                break
            await asyncio.sleep(0.1)
        assert ok, (await http.get("/health")).json()
        await asyncio.sleep(plant.hold_s + plant.run_s)
        sim.advance()
        truth = {m: (sim.truth(m).count, sim.truth(m).reject) for m in MACHINES}
        assert all(total > 10 for total, _ in truth.values()), truth

        async def caught_up() -> bool:
            machines = (await http.get("/api/v1/machines")).json()
            got = {m["id"]: (m["total"], m["reject"]) for m in machines}
            return got == truth

        for _ in range(100):
            if await caught_up():
                break
            await asyncio.sleep(0.1)
        machines = (await http.get("/api/v1/machines")).json()
        assert {m["id"]: (m["total"], m["reject"]) for m in machines} == truth
        assert {m["state"] for m in machines} == {"stopped"}
        metrics = (await http.get("/metrics")).text
        assert 'edge_samples_in_total{source="oven-03"}' in metrics
    totals, seqs = stored_totals(tmp_path / "edge")
    assert totals == truth
    assert seqs == list(range(1, len(seqs) + 1))
