"""``atelier-edge run`` as a real process, killed with SIGKILL mid-ingest and restarted.

After several kills at random moments the totals still equal the simulators' ground truth
(baselines and the analysed position commit with the facts: nothing double, nothing lost —
MQTT messages not committed before a kill were never acked, so the broker redelivers them), and
the outbox seqs are gap-free and unique. The last stop is a SIGTERM: a clean exit, code 0.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
from pathlib import Path

import httpx
import pytest

from simulators.runner import SimulationRunner
from tests.integration.edge.plant import MACHINES, Plant
from tests.integration.edge.test_agent_simulators import expected, stored_totals
from tests.support.services import free_port, mqtt_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EDGE = [sys.executable, "-m", "edge.cli", "run", "--log-json", "--config"]


async def _start(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            *EDGE, str(config), stdout=asyncio.subprocess.DEVNULL, stderr=err
        )


async def _until_up(http: httpx.AsyncClient, proc: asyncio.subprocess.Process) -> None:
    for _ in range(600):  # 30 s: imports are slow on a busy CI machine
        assert proc.returncode is None, "edge exited on its own"
        try:
            await http.get("/api/v1/machines")
            return
        except httpx.TransportError:
            await asyncio.sleep(0.05)
    raise AssertionError("edge API did not come up")


async def test_kill_9_mid_ingest_keeps_totals_exact(tmp_path: Path) -> None:
    host, port = mqtt_broker()
    plant = Plant(
        opcua_port=free_port(),
        modbus_port=free_port(),
        mqtt_host=host,
        mqtt_port=port,
        hold_s=5.0,
        run_s=14.0,
    )
    api_port = free_port()
    config = tmp_path / "edge.yaml"
    config.write_text(json.dumps(plant.edge_config(tmp_path / "edge", api_port)))  # JSON is YAML
    log = tmp_path / "edge.log"
    rng = random.Random()
    loop = asyncio.get_running_loop()
    async with (
        SimulationRunner(plant.scenario()) as sim,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=5) as http,
    ):
        production_end = loop.time() + plant.hold_s + plant.run_s
        proc = await _start(config, log)
        try:
            await _until_up(http, proc)
            for _ in range(3):
                await asyncio.sleep(rng.uniform(0.5, 2.5))
                proc.kill()  # SIGKILL: no flush, no close
                await proc.wait()
                proc = await _start(config, log)
                await _until_up(http, proc)
            await asyncio.sleep(max(0.0, production_end - loop.time()) + 1.0)
            sim.advance()
            truth = {m: (sim.truth(m).count, sim.truth(m).reject) for m in MACHINES}
            assert all(total > 10 for total, _ in truth.values()), truth
            proc.send_signal(signal.SIGTERM)  # its last analytics run covers every sample
            assert await asyncio.wait_for(proc.wait(), 30) == 0, log.read_text()[-3000:]
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    totals, seqs, first = stored_totals(tmp_path / "edge")
    assert totals == expected(truth, first), (truth, first)
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free; seq is the primary key: unique
    assert '"event":"edge stopped"' in log.read_text()
