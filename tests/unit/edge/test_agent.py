"""The agent end to end with in-memory sources and a real DuckDB file (no network)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.base import ConnectionState, Sample
from edge.agent import Agent
from edge.api.app import create_app
from edge.store import Store
from tests.unit.edge.conftest import (
    NS,
    MemorySources,
    counter_samples,
    edge_config,
    eventually,
    midday_zone,
)

T0 = (time.time_ns() // NS - 600) * NS  # ten minutes ago, so the current shift covers it


async def _connected(sources: MemorySources, agent: Agent) -> None:
    await eventually(
        lambda: (
            len(sources.current) == len(sources.names)
            and all(c.state is ConnectionState.connected for c in sources.current.values())
        )
    )


async def _committed(agent: Agent, n: int) -> None:
    await eventually(lambda: agent.ingest.committed_samples >= n)


def _totals(data_dir: Path) -> dict[str, tuple[int, int, int]]:
    store = Store(data_dir)
    store.open()
    try:
        counts = store.production_counts(from_ns=0, to_ns=2**62)
        seqs = store.outbox_seqs()
    finally:
        store.close()
    assert seqs == list(range(1, len(seqs) + 1)), "outbox seq must be gap-free from 1"
    return {m: (c.total, c.good, c.reject) for m, c in counts.items()}


async def test_counts_production_and_acks_after_commit(tmp_path: Path) -> None:
    sources = MemorySources(("m1", "m2"))
    config = edge_config(tmp_path)
    async with Agent(config, factories=sources.factories(), serve_api=False) as agent:
        await _connected(sources, agent)
        await sources.current["m1"].push(counter_samples("m1", 0, [10, 11, 12, 14], t0_ns=T0))
        await sources.current["m1"].push(
            counter_samples("m1", 0, [0, 0, 1, 1], signal="reject", t0_ns=T0)
        )
        await sources.current["m2"].push(counter_samples("m2", 0, [0, 5, 9], t0_ns=T0))
        await _committed(agent, 11)
        await eventually(lambda: sources.current["m1"].acked == 2)
        await eventually(lambda: sources.current["m2"].acked == 1)
    # m1 counts from its first sample (10): 4 parts, 1 reject; m2: 9 parts.
    assert _totals(tmp_path) == {"m1": (4, 3, 1), "m2": (9, 9, 0)}


async def test_restart_resumes_without_double_counting(tmp_path: Path) -> None:
    config = edge_config(tmp_path, machines=("m1",))
    first = counter_samples("m1", 0, [100, 101, 105], t0_ns=T0)
    for round_ in range(2):
        sources = MemorySources(("m1",))
        async with Agent(config, factories=sources.factories(), serve_api=False) as agent:
            await _connected(sources, agent)
            # The second run gets the first batch again (an MQTT redelivery) and new values.
            await sources.current["m1"].push(first)
            if round_ == 1:
                await sources.current["m1"].push(counter_samples("m1", 3, [107, 2, 3], t0_ns=T0))
            await _committed(agent, 3 * (round_ + 1))
    # 100→105 = 5, then 105→107 = 2, reset to 2 counts 2, 2→3 = 1: 10 parts in all.
    assert _totals(tmp_path) == {"m1": (10, 10, 0)}


class FlakyStore(Store):
    """A real store whose appends fail while ``broken`` is set (a full disk, say)."""

    broken = False

    def append_samples(self, table):  # type: ignore[no-untyped-def]
        if self.broken:
            from edge.store import StoreUnavailable

            raise StoreUnavailable("write failed: No space left on device")
        return super().append_samples(table)


async def test_unwritable_store_holds_samples_and_recovers(tmp_path: Path) -> None:
    sources = MemorySources(("m1",))
    config = edge_config(tmp_path, machines=("m1",), queue_max_samples=10)
    store = FlakyStore(tmp_path)
    agent = Agent(
        config, factories=sources.factories(), store=store, serve_api=False, store_retry_s=0.05
    )
    app = create_app(agent.services)
    transport = httpx.ASGITransport(app=app)
    async with agent, httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
        await _connected(sources, agent)
        store.broken = True
        conn = sources.current["m1"]
        for i in range(3):
            await conn.push(counter_samples("m1", i * 3, [i * 3, i * 3 + 1, i * 3 + 2], t0_ns=T0))
        await eventually(lambda: agent.ingest.store_error is not None)
        r = await http.get("/health")
        assert r.status_code == 503
        assert any("No space left" in reason for reason in r.json()["reasons"])
        assert conn.acked == 0  # nothing acked while the store cannot commit
        assert agent.queue.depth == 9  # held in memory, within the bound of 10
        store.broken = False
        await _committed(agent, 9)
        await eventually(lambda: conn.acked == 3)
        r = await http.get("/health")
        assert r.status_code == 200, r.json()
    assert _totals(tmp_path) == {"m1": (8, 8, 0)}


async def test_machines_and_oee_endpoints(tmp_path: Path) -> None:
    sources = MemorySources(("m1",))
    config = edge_config(tmp_path, machines=("m1",), timezone=midday_zone(T0))
    agent = Agent(config, factories=sources.factories(), serve_api=False)
    transport = httpx.ASGITransport(app=create_app(agent.services))
    async with agent, httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
        await _connected(sources, agent)
        conn = sources.current["m1"]
        await conn.push([Sample(T0, "m1", "state", 1.0)])
        await conn.push(counter_samples("m1", 0, list(range(0, 120)), t0_ns=T0))
        await _committed(agent, 121)
        await agent.jobs.run_analytics()
        await agent.jobs.refresh_oee()
        machines = (await http.get("/api/v1/machines")).json()
        assert machines[0]["oee"] is not None
        assert machines[0]["id"] == "m1"
        assert machines[0]["state"] == "running"
        assert machines[0]["total"] == 119
        assert machines[0]["last_sample_at"] is not None
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 / NS))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 / NS + 3600))
        r = await http.get(f"/api/v1/machines/m1/oee?from={start}&to={end}&by=hour")
        assert r.status_code == 200, r.text
        windows = r.json()
        assert sum(w["total"] for w in windows) == 119
        for key in ("machine", "window_start", "window_end", "planned_s", "oee", "micro_stops"):
            assert key in windows[0]
        assert (
            await http.get(
                "/api/v1/machines/nope/oee?from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z"
            )
        ).status_code == 404
        metrics = (await http.get("/metrics")).text
        assert 'edge_samples_in_total{source="m1"} 121.0' in metrics
        assert "edge_batch_commit_seconds_count" in metrics


async def test_a_crashing_source_does_not_stop_the_others(tmp_path: Path) -> None:
    sources = MemorySources(("m1",))
    calls = 0

    def broken() -> object:
        nonlocal calls
        calls += 1
        raise RuntimeError("driver bug")

    factories = {**sources.factories(), "bad": broken}
    config = edge_config(tmp_path, machines=("m1",))
    agent = Agent(config, factories=factories, serve_api=False, restart_cap_s=0.01)  # type: ignore[arg-type]
    async with agent:
        await _connected(sources, agent)
        await sources.current["m1"].push(counter_samples("m1", 0, [0, 1, 2], t0_ns=T0))
        await _committed(agent, 3)
        await eventually(lambda: calls >= 3)
        status = agent.supervisors["bad"].health.status()
        assert status.state is ConnectionState.failed
        assert "driver bug" in (status.last_error or "")
    assert _totals(tmp_path) == {"m1": (2, 2, 0)}


async def test_unusable_data_dir_at_start_then_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Running as root, chmod cannot make a directory unwritable: a regular file standing where
    # the data directory must be created fails the same way for every user.
    caplog.set_level(logging.INFO)
    blocker = tmp_path / "mnt"
    blocker.write_text("not a directory")
    data_dir = blocker / "edge"
    sources = MemorySources(("m1",))
    config = edge_config(data_dir, machines=("m1",))
    agent = Agent(config, factories=sources.factories(), serve_api=False, store_retry_s=0.05)
    transport = httpx.ASGITransport(app=create_app(agent.services))
    async with agent, httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
        await _connected(sources, agent)
        conn = sources.current["m1"]
        await conn.push(counter_samples("m1", 0, [0, 1, 2, 3], t0_ns=T0))
        await eventually(lambda: agent.queue.depth == 4)
        r = await http.get("/health")
        assert r.status_code == 503
        body = r.json()
        assert any(reason.startswith("store: cannot open") for reason in body["reasons"])
        assert body["store"]["writable"] is False
        assert (await http.get("/api/v1/machines")).status_code == 200  # live view still served
        assert conn.acked == 0
        blocker.unlink()  # the disk is back
        await _committed(agent, 4)
        await eventually(lambda: conn.acked == 1)
        assert (await http.get("/health")).status_code == 200
    assert _totals(data_dir) == {"m1": (3, 3, 0)}
    messages = [r.getMessage() for r in caplog.records if r.name == "edge.ingest"]
    # Retried every 50 ms for a while, yet logged once, and its recovery once.
    assert messages.count("store unavailable, holding samples in memory") == 1
    assert messages.count("store recovered") == 1


async def test_background_tasks_and_app_extension(tmp_path: Path) -> None:
    from fastapi import APIRouter, FastAPI

    from tests.support.services import free_port

    acked: list[int] = []

    async def fake_sync(agent: Agent) -> None:
        # What a sync loop does: read pending records, "send" them, ack them.
        while True:
            pending = await agent.writer.call(Store.outbox_pending, 100)
            if pending:
                await agent.writer.call(Store.outbox_ack, pending[-1].seq)
                acked.extend(r.seq for r in pending)
            await asyncio.sleep(0.02)

    def extend(app: FastAPI, agent: Agent) -> None:
        router = APIRouter()
        router.add_api_route("/extension/ping", lambda: {"machines": agent.services.machine_ids()})
        app.include_router(router)

    port = free_port()
    sources = MemorySources(("m1",))
    config = edge_config(tmp_path, machines=("m1",), api={"host": "127.0.0.1", "port": port})
    agent = Agent(config, factories=sources.factories(), background=[fake_sync], extend_app=extend)
    async with agent, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert (await http.get("/extension/ping")).json() == {"machines": ["m1"]}
        tablet = await http.get("/tablet/", follow_redirects=True)  # served by the agent too
        assert tablet.status_code == 200
        assert "text/html" in tablet.headers["content-type"]
        await _connected(sources, agent)
        await sources.current["m1"].push(counter_samples("m1", 0, [0, 4], t0_ns=T0))
        await agent.jobs.run_analytics()
        await eventually(lambda: len(acked) >= 2)  # hello, then the production record
        await agent.jobs.refresh_outbox_stats()
        health = (await http.get("/health")).json()
        assert health["outbox"]["backlog"] == 0
        assert health["outbox"]["acked_through"] == acked[-1]


async def test_api_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = edge_config(tmp_path, machines=("m1",), api={"host": "127.0.0.1", "port": port})
        agent = Agent(config, factories=MemorySources(("m1",)).factories())
        with pytest.raises(RuntimeError, match=f"could not listen on 127.0.0.1:{port}"):
            await agent.__aenter__()
    # Everything it had started was stopped: the store can be opened again at once.
    assert _totals(tmp_path) == {}


async def test_an_order_switch_mid_stream_splits_production_by_time(tmp_path: Path) -> None:
    sources = MemorySources(("m1",))
    config = edge_config(tmp_path, machines=("m1",))
    switch = T0 + 5 * NS + NS // 2
    async with Agent(
        config, factories=sources.factories(), serve_api=False, analytics_interval_s=3600
    ) as agent:
        await _connected(sources, agent)
        await agent.writer.call(
            Store.set_active_order, machine="m1", work_order="WO-A", target=None, since_ns=T0 - NS
        )
        await agent.jobs.run_analytics()  # the order is seen before the switch
        conn = sources.current["m1"]
        await conn.push(counter_samples("m1", 0, list(range(0, 6)), t0_ns=T0))
        await agent.writer.call(
            Store.set_active_order, machine="m1", work_order="WO-B", target=None, since_ns=switch
        )
        await conn.push(counter_samples("m1", 6, list(range(6, 11)), t0_ns=T0))
        await _committed(agent, 11)
        await agent.jobs.run_analytics()  # one run over parts made before and after the switch
        rows = await agent.writer.call(
            lambda s: s.con.execute(
                "SELECT work_order, sum(good) FROM production GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
    assert [(o, int(g)) for o, g in rows] == [("WO-A", 5), ("WO-B", 5)]


def test_the_gateway_caps_malloc_arenas_unless_the_environment_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from edge.cli import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False  # glibc reads the variable itself: leave it alone
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert limit_malloc_arenas() is (sys.platform == "linux")
