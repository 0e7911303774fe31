"""``/health`` shows the link to central and the downlink, and sync trouble is not a 503.

A real central process (SQLite) on 127.0.0.1, the agent with in-memory sources.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import Connector, WriteError
from connectors.memory import MemoryConnector
from connectors.specs import MemorySourceSpec
from edge.agent import Agent
from edge.api.app import create_app
from edge.config import EdgeConfig, parse_config
from edge.store import Store
from edge.sync_runtime import EdgeSync
from simulators.demo_procs import Central
from tests.support.services import free_port

pytestmark = pytest.mark.integration
EDGE = "health-it"
BAD_TOKEN = "s3cr3t-not-a-token"


def _config(tmp: Path, port: int) -> EdgeConfig:
    signals = {"count": {"field": "c"}, "order": {"field": "o"}, "target": {"field": "t"}}
    return parse_config(
        {
            "edge": {"id": EDGE, "data_dir": str(tmp / "edge"), "timezone": "UTC"},
            "central": {"url": f"http://127.0.0.1:{port}", "token_env": "HEALTH_IT_TOKEN"},
            "machines": [
                {
                    "id": m,
                    "ideal_cycle_s": 1.0,
                    "source": {
                        "protocol": "mqtt",
                        "url": "mqtt://127.0.0.1:1",
                        "topic": f"t/{m}",
                        "signals": signals,
                    },
                }
                for m in ("m1", "m2")
            ],
        }
    )


class RefusingPlc(MemoryConnector):
    """A source whose PLC refuses downlink writes (the reply names a URL with credentials)."""

    async def write(self, signal: str, value: float | str) -> None:
        raise WriteError("source m2: refused by gateway http://plc:hunter2@10.0.0.9/write")


def _factories() -> dict[str, Callable[[], Connector]]:
    return {
        "m1": lambda: MemoryConnector(MemorySourceSpec("m1", ("count",))),
        "m2": lambda: RefusingPlc(MemorySourceSpec("m2", ("count",))),
    }


async def _health(http: httpx.AsyncClient) -> tuple[int, dict[str, Any], str]:
    response = await http.get("/health")
    return response.status_code, response.json(), response.text


async def _until(http: httpx.AsyncClient, check: Callable[[dict[str, Any]], bool]) -> None:
    deadline = time.monotonic() + 30
    while True:
        code, body, _ = await _health(http)
        if check(body):
            return
        assert time.monotonic() < deadline, f"timed out; last /health {code}: {body}"
        await asyncio.sleep(0.2)


async def test_health_reports_sync_and_downlink_without_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    central = Central(tmp_path / "central", free_port())
    central.data_dir.mkdir(parents=True)
    admin = central.admin_token()
    monkeypatch.setenv("HEALTH_IT_TOKEN", BAD_TOKEN)
    agent = Agent(_config(tmp_path, central.port), factories=_factories(), serve_api=False)
    transport = httpx.ASGITransport(app=create_app(agent.services))
    async with (
        agent,
        EdgeSync(agent, backoff_cap_s=0.5),
        httpx.AsyncClient(transport=transport, base_url="http://edge") as http,
    ):
        now = time.time_ns()
        for machine in ("m1", "m2"):
            await agent.writer.call(
                Store.set_active_order, machine=machine, work_order="WO-7", target=12, since_ns=now
            )
        await _until(
            http,
            lambda b: (
                b["sync"]["status"] == "degraded"
                and any(d["failed"] for d in b["downlink"])
                and b["outbox"].get("backlog", 0) >= 1
            ),
        )
        code, body, text = await _health(http)
        # central away and a refused write: reported, but the edge itself is healthy
        assert code == 200 and body["status"] == "ok" and body["reasons"] == []
        sync = body["sync"]
        assert not sync["connected"] and sync["last_push_at"] is None
        assert sync["last_error"] and sync["backlog"] >= 1 and sync["oldest_unacked_age_s"] >= 0
        downlink = {d["machine"]: d for d in body["downlink"]}
        assert downlink["m1"] == {
            "machine": "m1", "pending": False, "failed": False, "work_order": None,
            "target": None, "attempts": 0, "last_error": None,
        }  # fmt: skip
        m2 = downlink["m2"]
        assert m2["pending"] and m2["failed"] and m2["attempts"] >= 1
        assert (m2["work_order"], m2["target"]) == ("WO-7", 12)
        assert "http://***@10.0.0.9/write" in m2["last_error"]
        assert any(w.startswith("sync: ") for w in body["warnings"])
        assert any(w.startswith("downlink m2: ") for w in body["warnings"])
        assert "hunter2" not in text and BAD_TOKEN not in text

        await asyncio.to_thread(central.start)
        try:
            monkeypatch.setenv("HEALTH_IT_TOKEN", central.edge_token(admin, EDGE))
            await _until(
                http,
                lambda b: b["sync"]["connected"] and b["sync"]["backlog"] == 0,
            )
            code, body, _ = await _health(http)
            sync = body["sync"]
            assert code == 200 and sync["status"] == "ok" and sync["last_error"] is None
            assert sync["last_push_at"] is not None and sync["last_pull_at"] is not None
            assert sync["acked_through"] >= 1 and sync["oldest_unacked_age_s"] is None
            assert not any(w.startswith("sync: ") for w in body["warnings"])
        finally:
            await asyncio.to_thread(central.stop)
