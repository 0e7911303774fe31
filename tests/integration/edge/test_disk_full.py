"""A real write failure mid-run: the edge process's file-size limit drops to a few bytes.

``RLIMIT_FSIZE`` makes every DuckDB write past the limit fail (EFBIG) exactly like a full disk,
for that process only (no tmpfs needed, works as root). The edge must say so on ``/health``
(503, the store reason) and in its log, once; keep its sources connected and hold samples in
memory (bounded); and when the limit is lifted, commit what it held and count every part.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
from pathlib import Path

import httpx
import pytest

from simulators.runner import SimulationRunner
from tests.integration.edge.plant import MACHINES, Plant
from tests.integration.edge.test_agent_simulators import expected, stored_totals
from tests.integration.edge.test_crash import EDGE, _until_up
from tests.support.services import free_port, mqtt_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    async for line in stream:
        lines.append(line.decode(errors="replace"))


async def _health(http: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    r = await http.get("/health")
    return r.status_code, r.json()


async def test_disk_full_mid_run_is_reported_held_and_recovered(tmp_path: Path) -> None:
    host, port = mqtt_broker()
    plant = Plant(
        opcua_port=free_port(),
        modbus_port=free_port(),
        mqtt_host=host,
        mqtt_port=port,
        hold_s=5.0,
        run_s=10.0,
    )
    api_port = free_port()
    config = tmp_path / "edge.yaml"
    config.write_text(json.dumps(plant.edge_config(tmp_path / "edge", api_port)))
    lines: list[str] = []
    loop = asyncio.get_running_loop()
    async with (
        SimulationRunner(plant.scenario()) as sim,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=5) as http,
    ):
        production_end = loop.time() + plant.hold_s + plant.run_s
        # Logs through a pipe: a log file would hit the same file-size limit.
        proc = await asyncio.create_subprocess_exec(
            *EDGE, str(config), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        assert proc.stderr is not None
        reader = asyncio.create_task(_collect(proc.stderr, lines))
        try:
            await _until_up(http, proc)
            await asyncio.sleep(plant.hold_s)  # ingesting
            _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (4096, hard))  # "disk full"
            for _ in range(100):
                code, body = await _health(http)
                if code == 503:
                    break
                await asyncio.sleep(0.1)
            assert code == 503, body
            assert any(str(r).startswith("store:") for r in body["reasons"]), body  # type: ignore[attr-defined]
            await asyncio.sleep(3)  # still sampling: held in memory, sources connected
            code, body = await _health(http)
            assert code == 503
            assert all(s["state"] == "connected" for s in body["sources"]), body  # type: ignore[index]
            assert body["queue"]["depth"] > 0  # type: ignore[index]
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (hard, hard))  # space is back
            for _ in range(100):
                code, body = await _health(http)
                if code == 200:
                    break
                await asyncio.sleep(0.1)
            assert code == 200, body
            await asyncio.sleep(max(0.0, production_end - loop.time()) + 1.0)
            sim.advance()
            truth = {m: (sim.truth(m).count, sim.truth(m).reject) for m in MACHINES}
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0, "".join(lines[-20:])
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await reader
    totals, seqs, first = stored_totals(tmp_path / "edge")
    assert totals == expected(truth, first), (truth, first)
    assert seqs == list(range(1, len(seqs) + 1))
    events = [json.loads(line) for line in lines if line.startswith("{")]
    names = [e["event"] for e in events]
    assert names.count("store unavailable, holding samples in memory") == 1
    assert names.count("store recovered") == 1
