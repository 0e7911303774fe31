"""The sync client against a real central process (SQLite) over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from edge.config import parse_config
from edge.store import Store
from edge.sync import SyncClient
from edge.writer import StoreWriter
from simulators.demo_procs import Central
from tests.support.services import free_port

pytestmark = pytest.mark.integration
EDGE = "sync-it"


def _config(tmp: Path, port: int) -> Any:
    return parse_config(
        {
            "edge": {"id": EDGE, "data_dir": str(tmp / "edge"), "timezone": "UTC"},
            "central": {"url": f"http://127.0.0.1:{port}", "token_env": "SYNC_IT_TOKEN"},
            "machines": [
                {
                    "id": "press-01",
                    "ideal_cycle_s": 1.0,
                    "source": {
                        "protocol": "opcua",
                        "endpoint": "opc.tcp://127.0.0.1:4840",
                        "signals": {"count": {"node": "ns=2;s=P.Count"}},
                    },
                }
            ],
        }
    )


def _fill(store: Store) -> int:
    """Ten production deltas and, in the middle, one record the contract refuses."""
    now = time.time_ns()
    poison = 0
    with store.transaction() as tx:
        for i in range(10):
            body = {
                "machine": "press-01",
                "good": 2,
                "scrap": 1,
                "period_start": "2026-01-05T06:00:00Z",
                "period_end": "2026-01-05T06:01:00Z",
            }
            tx.outbox("production", now + i, body)
            if i == 4:
                poison = tx.outbox("production", now + i, {**body, "good": -1})
    return poison


def _rows(store: Store) -> list[tuple[int, bool]]:
    rows = store.con.execute("SELECT seq, acked FROM outbox ORDER BY seq").fetchall()
    return [(int(s), bool(a)) for s, a in rows]


async def _until(check: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_outbox_waits_for_central_then_is_acked_once_poison_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    central = Central(tmp_path / "central", free_port())
    central.data_dir.mkdir(parents=True)
    admin = central.admin_token()
    config = _config(tmp_path, central.port)
    async with StoreWriter(Store(tmp_path / "edge")) as writer:
        poison = await writer.call(_fill)
        async with SyncClient(config, writer, backoff_cap_s=0.5) as client:
            await _until(lambda: asyncio.sleep(0, client.status.push_error is not None))
            rows = await writer.call(_rows)
            assert len(rows) == 12 and not any(acked for _, acked in rows)  # hello + 11
            await asyncio.to_thread(central.start)
            monkeypatch.setenv("SYNC_IT_TOKEN", central.edge_token(admin, EDGE))

            async def all_but_poison_acked() -> bool:
                return all(a or s == poison for s, a in await writer.call(_rows))

            await _until(all_but_poison_acked)
            assert set(client.status.poison) == {poison}
            assert client.status.push_error is None
        # a restart resends nothing already acked, and keeps the poison record unacked
        async with SyncClient(config, writer, send_hello=False) as again:
            await asyncio.sleep(1.0)
            assert again.status.pushed == 0
            assert set(again.status.poison) == {poison}
        rows = await writer.call(_rows)
        assert [s for s, a in rows if not a] == [poison]
    await asyncio.to_thread(central.stop)
