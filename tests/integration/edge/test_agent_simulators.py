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


def first_values(store: Store) -> dict[str, tuple[int, int]]:
    """The first count and reject values the edge saw per machine (0, 0 when it was in time)."""
    rows = store.con.execute(
        "SELECT machine, signal, arg_min(value, ts_ns) FROM samples "
        "WHERE signal IN ('count', 'reject') GROUP BY machine, signal"
    ).fetchall()
    firsts = {(m, s): round(v) for m, s, v in rows}
    return {m: (firsts.get((m, "count"), 0), firsts.get((m, "reject"), 0)) for m, _ in firsts}


def stored_totals(
    data_dir: Path,
) -> tuple[dict[str, tuple[int, int]], list[int], dict[str, tuple[int, int]]]:
    """Totals per machine, every outbox seq, and the first counter values seen."""
    store = Store(data_dir)
    store.open()
    try:
        counts = store.production_counts(from_ns=0, to_ns=2**62)
        totals = {m: (c.total, c.reject) for m, c in counts.items()}
        return totals, store.outbox_seqs(), first_values(store)
    finally:
        store.close()


def expected(
    truth: dict[str, tuple[int, int]], first: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    """Ground truth over what the edge observed: from its first counter reading to the end.

    The edge counts from its first reading of a counter (a value it found on connecting is
    not production it saw); when it connected before production started this is the whole
    truth.
    """
    return {
        m: (count - first.get(m, (0, 0))[0], reject - first.get(m, (0, 0))[1])
        for m, (count, reject) in truth.items()
    }


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
        Agent(config, analytics_interval_s=0.5) as agent,
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

        first = await agent.writer.call(first_values)
        want = expected(truth, first)

        async def caught_up() -> bool:  # totals and the final state may land in two runs
            machines = (await http.get("/api/v1/machines")).json()
            got = {m["id"]: (m["total"], m["reject"]) for m in machines}
            return got == want and {m["state"] for m in machines} == {"stopped"}

        for _ in range(200):
            if await caught_up():
                break
            await asyncio.sleep(0.1)
        machines = (await http.get("/api/v1/machines")).json()
        assert {m["id"]: (m["total"], m["reject"]) for m in machines} == want, (truth, first)
        assert {m["state"] for m in machines} == {"stopped"}
        metrics = (await http.get("/metrics")).text
        assert 'edge_samples_in_total{source="oven-03"}' in metrics
    totals, seqs, first = stored_totals(tmp_path / "edge")
    assert totals == expected(truth, first)
    assert seqs == list(range(1, len(seqs) + 1))
