"""The in-memory connector: the shared runtime (queue, acks, status, reconnect, close)."""

from __future__ import annotations

import asyncio
import random

import pytest

from connectors import MemorySourceSpec, build
from connectors.backoff import Backoff
from connectors.base import ConnectionState, Connector, Sample
from connectors.memory import MemoryConnector


async def wait_state(conn: Connector, state: ConnectionState) -> None:
    for _ in range(500):
        if conn.state is state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"state {conn.state}, expected {state}")


class Midpoint(random.Random):
    """Backoff jitter without the chance of a delay too short for wait_state to see."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


async def test_batches_acks_status_reconnect_and_close() -> None:
    assert isinstance(build(MemorySourceSpec("m1")), MemoryConnector)
    conn = MemoryConnector(MemorySourceSpec("m1"), backoff=Backoff(base_s=0.6, rng=Midpoint()))
    assert isinstance(conn, Connector)
    assert conn.state is ConnectionState.idle
    async with conn:
        await wait_state(conn, ConnectionState.connected)
        await conn.push([Sample(1, "m1", "count", 1.0), Sample(2, "m1", "count", 2.0)])
        await conn.push([Sample(3, "m1", "count", 3.0)])
        batches = conn.batches()
        first = await anext(batches)
        assert [s.value for s in first.samples] == [1.0, 2.0]
        assert conn.acked == 0
        first.ack()
        assert conn.acked == 1
        status = conn.status
        assert (status.samples, status.last_sample_ns, status.connected_since_ns is not None) == (
            3,
            3,
            True,
        )
        conn.disconnect()
        await wait_state(conn, ConnectionState.reconnecting)
        await wait_state(conn, ConnectionState.connected)
        assert conn.status.errors == {"connection_lost": 1}
        await conn.write("order", "WO-1")
        assert conn.written == [("order", "WO-1")]
    assert conn.state is ConnectionState.closed
    # what was queued before the close is still delivered, then the iteration ends
    rest = [b async for b in batches]
    assert [[s.value for s in b.samples] for b in rest] == [[3.0]]


async def test_a_full_queue_applies_back_pressure() -> None:
    conn = MemoryConnector(MemorySourceSpec("m2"), queue_batches=2)  # tiny: see the wait
    async with conn:
        for n in range(2):
            await conn.push([Sample(n, "m2", "count", float(n))])
        blocked = asyncio.create_task(conn.push([Sample(9, "m2", "count", 9.0)]))
        await asyncio.sleep(0.05)
        assert not blocked.done()  # waits, nothing dropped
        batches = conn.batches()
        await anext(batches)
        await asyncio.wait_for(blocked, 1)
        values = [(await anext(batches)).samples[0].value for _ in range(2)]
        assert values == [1.0, 9.0]


def test_build_rejects_unknown_specs() -> None:
    with pytest.raises(TypeError, match="no connector"):
        build("not a spec")  # type: ignore[arg-type]
