"""The edge's exit keeps to one shutdown budget, even when central takes requests and never
answers: the last push gives up (the outbox keeps its records), DuckDB still closes.

Before the shared budget, the last push alone could take the HTTP client's read timeout
(30 s) and the drain and the jobs 10 s each: longer than the demo's 10 s grace before SIGKILL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.memory import MemoryConnector
from connectors.specs import MemorySourceSpec
from edge.agent import Agent
from edge.config import EdgeConfig, parse_config
from edge.store import Store
from edge.sync_runtime import EdgeSync

pytestmark = pytest.mark.integration
BUDGET_S = 1.0


def _config(tmp: Path, port: int) -> EdgeConfig:
    return parse_config(
        {
            "edge": {"id": "budget-it", "data_dir": str(tmp / "edge"), "timezone": "UTC"},
            "central": {"url": f"http://127.0.0.1:{port}", "token_env": "BUDGET_IT_TOKEN"},
            "machines": [
                {
                    "id": "m1",
                    "ideal_cycle_s": 1.0,
                    "source": {
                        "protocol": "mqtt",
                        "url": "mqtt://127.0.0.1:1",
                        "topic": "t/m1",
                        "signals": {"count": {"field": "c"}},
                    },
                }
            ],
        }
    )


async def test_exit_keeps_to_the_budget_when_central_never_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = asyncio.Event()
    release = asyncio.Event()

    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await release.wait()  # reads nothing, answers nothing
        writer.close()

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("BUDGET_IT_TOKEN", "edge-token")
    config = _config(tmp_path, port)
    loop = asyncio.get_running_loop()
    agent = Agent(
        config,
        factories={"m1": lambda: MemoryConnector(MemorySourceSpec("m1", ("count",)))},
        serve_api=False,
    )
    try:
        async with agent:
            sync = EdgeSync(agent)
            await sync.__aenter__()
            await asyncio.wait_for(accepted.wait(), 10)  # the hello is on its way, unanswered
            agent.begin_shutdown(BUDGET_S)
            started = loop.time()
            await sync.__aexit__(None, None, None)
        elapsed = loop.time() - started
    finally:
        release.set()
        server.close()
        await server.wait_closed()

    # the budget plus the writer's close; the old timeouts alone added up to 30 s
    assert elapsed < BUDGET_S + 2.0, f"exit took {elapsed:.1f} s"
    store = Store(Path(config.edge.data_dir))  # closed cleanly: it opens, the hello is kept
    store.open()
    try:
        pending = store.con.execute("SELECT count(*) FROM outbox WHERE NOT acked").fetchone()
        assert pending is not None and pending[0] >= 1
    finally:
        store.close()
