"""Modbus connector against a bare pymodbus server: tables, types, exceptions, reconnect, write."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors import ModbusSignalSpec, ModbusSourceSpec, Reconnect, build
from connectors.base import ConnectionState, MachineState, WriteError, WriteNotSupported
from connectors.modbus_codec import encode
from tests.integration.connectors.support import BareModbus, Collector
from tests.support.services import free_port

pytestmark = pytest.mark.integration

SIGNALS = (
    ModbusSignalSpec("count", 0, type="uint32"),
    ModbusSignalSpec("reject", 2),
    ModbusSignalSpec("state", 3, states={"1": "running", "3": "fault"}),
    ModbusSignalSpec("temp", 4, type="float32", word_order="little", byte_swap=True),
    ModbusSignalSpec("energy", 6, type="int64", scale=0.001),
    ModbusSignalSpec("order", 10, type="uint32"),
    ModbusSignalSpec("pressure", 0, table="input", scale=0.5),
    ModbusSignalSpec("run", 1, table="coil", type="bool"),
    ModbusSignalSpec("door", 2, table="discrete", type="bool"),
)


def spec(
    port: int, signals: tuple[ModbusSignalSpec, ...] = SIGNALS, **kw: object
) -> ModbusSourceSpec:
    return ModbusSourceSpec(
        machine="lathe-02",
        host="127.0.0.1",
        port=port,
        signals=signals,
        poll_ms=50,
        timeout_ms=500,
        reconnect=Reconnect(0.1, 1.0),
        **kw,  # type: ignore[arg-type]
    )


async def test_all_tables_and_types_with_receive_time() -> None:
    async with BareModbus(free_port()) as server:
        server.holding[0:2] = encode(305419896, "uint32")
        server.holding[2] = 4
        server.holding[3] = 3
        server.holding[4:6] = encode(123456.0, "float32", "little", True)
        server.holding[6:10] = encode(-1500, "int64")
        async with build(spec(server.port)) as conn, Collector(conn) as col:
            before = time.time_ns()
            await col.wait_for(lambda: len(col.of("door")) >= 2)
            values = {s.signal: s.value for s in col.samples}
            assert values == {
                "count": 305419896.0,
                "reject": 4.0,
                "state": float(MachineState.fault),
                "temp": 123456.0,
                "energy": pytest.approx(-1.5),
                "order": 0.0,
                "pressure": 3.5,
                "run": 0.0,
                "door": 1.0,
            }
            assert {s.machine for s in col.samples} == {"lathe-02"}
            last = col.of("count")[-1]
            assert before - 1_000_000_000 < last.ts_ns <= time.time_ns()
            server.holding[1] += 1
            await col.wait_for(lambda: col.of("count")[-1].value == 305419897.0)


async def test_polling_is_drift_free_and_grouped() -> None:
    async with BareModbus(free_port()) as server:
        server.holding[3] = 1
        async with build(spec(server.port)) as conn, Collector(conn) as col:
            await col.wait_for(lambda: len(col.of("count")) >= 11)
            stamps = [s.ts_ns for s in col.of("count")]
            # 10 polls on a 50 ms grid: ~0.5 s, however long each poll took
            assert 0.4e9 < stamps[10] - stamps[0] < 0.7e9
            assert conn.status.errors == {}
        # holding 0..11 in one request, input, coil, discrete: 4 requests per poll
        assert server.requests <= 4 * (len(stamps) + 2)


async def test_exception_responses_are_counted_and_busy_is_retried() -> None:
    bad = (*SIGNALS, ModbusSignalSpec("ghost", 500))  # beyond the 64 registers: exception 02
    async with BareModbus(free_port()) as server:
        server.holding[3] = 1
        async with build(spec(server.port, bad, busy_retry_ms=5)) as conn, Collector(conn) as col:
            await col.wait_for(lambda: len(col.of("count")) >= 2)
            assert conn.status.errors["modbus_exception_02"] >= 2
            assert col.of("ghost") == []
            seen = len(col.of("count"))
            server.busy = 2  # two busy replies: absorbed by the retries
            await col.wait_for(lambda: len(col.of("count")) >= seen + 3)
            assert "modbus_exception_06" not in conn.status.errors
            server.busy = 50  # beyond the retries: counted, and polling goes on afterwards
            await col.wait_for(lambda: conn.status.errors.get("modbus_exception_06", 0) >= 1)
            server.busy = 0
            seen = len(col.of("count"))
            await col.wait_for(lambda: len(col.of("count")) >= seen + 3)
            assert conn.state is ConnectionState.connected


async def test_server_restart_on_the_same_port_resumes() -> None:
    port = free_port()
    server = BareModbus(port)
    async with server:
        conn = build(spec(port))
        async with conn, Collector(conn) as col:
            server.holding[1] = 1
            await col.wait_for(lambda: any(s.value == 1.0 for s in col.of("count")))
            await server.__aexit__()
            await col.wait_for(lambda: conn.state is not ConnectionState.connected, 10)
            async with BareModbus(port) as restarted:
                restarted.holding[1] = 2
                took = await col.wait_for(lambda: col.of("count")[-1].value == 2.0, 10)
                assert took < 10
                assert conn.status.errors["connection_lost"] >= 1
                assert conn.state is ConnectionState.connected


async def test_write_encodes_with_the_signal_codec() -> None:
    async with (
        BareModbus(free_port()) as server,
        build(spec(server.port)) as conn,
        Collector(conn) as col,
    ):
        await col.wait_for(lambda: conn.state is ConnectionState.connected)
        await conn.write("order", 4242)
        await conn.write("temp", 123456.0)
        assert server.holding[10:12] == encode(4242, "uint32")
        assert server.holding[4:6] == [0x0020, 0xF147]  # DCBA
        await col.wait_for(lambda: col.of("order")[-1].value == 4242.0)
        with pytest.raises(WriteNotSupported):
            await conn.write("pressure", 1)
        with pytest.raises(WriteError):
            await conn.write("order", -1)


async def test_write_signals_are_written_and_never_read() -> None:
    writes = (ModbusSignalSpec("order", 10, type="uint32"), ModbusSignalSpec("target", 12))
    s = spec(free_port(), SIGNALS[:2], write_signals=writes)
    async with BareModbus(s.port) as server, build(s) as conn, Collector(conn) as col:
        await col.wait_for(lambda: conn.state is ConnectionState.connected)
        await conn.write("order", 4242)
        await conn.write("target", 40)
        assert server.holding[10:13] == [*encode(4242, "uint32"), 40]
        server.holding[1] = 5
        await col.wait_for(lambda: col.of("count")[-1].value == 5.0)
        assert {x.signal for x in col.samples} == {"count", "reject"}
        assert dict(conn.status.errors) == {}


async def test_unreachable_device_reports_failure_and_retries() -> None:
    port = free_port()
    async with build(spec(port)) as conn:
        async with BareModbus(port):
            pass  # nothing listened before: the connector is retrying meanwhile
        for _ in range(50):
            if conn.status.errors.get("connect_failed", 0) >= 2:
                break
            await asyncio.sleep(0.05)
        assert conn.status.errors["connect_failed"] >= 2
        assert conn.state is ConnectionState.reconnecting
        assert conn.status.last_error
