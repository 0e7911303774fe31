"""Modbus PLC read by independent clients (pymodbus, mbpoll) over 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pymodbus.client import AsyncModbusTcpClient

from simulators.errors import PortInUseError
from simulators.layout import ModbusLayout, Register
from simulators.machine import Behaviour, MachineModel, MachineSpec
from simulators.modbus_plc import ModbusPlc
from simulators.registers import decode
from tests.support.services import free_port, unavailable

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

FAST = Behaviour(jitter=0.1, reject_rate=0.2, setup_s=0.5)
ORDERS = ModbusLayout(
    unit=2,
    registers={
        "count": Register(0, "uint32", "CDAB"),
        "good": Register(2, "uint32", "BADC"),
        "reject": Register(4, "uint32", "DCBA", table="input"),
        "cycle_s": Register(6, "float32", "CDAB"),
        "state": Register(8, "uint16", table="input"),
    },
)
WRAP = ModbusLayout(unit=3, registers={"count": Register(0, "uint16")})


class Plant:
    def __init__(self) -> None:
        self.port = free_port()
        self.demo = MachineModel(
            MachineSpec("lathe", 0.1, FAST, order="WO-1002", source=ModbusLayout()), 1
        )
        self.orders = MachineModel(MachineSpec("weld", 0.1, FAST, source=ORDERS), 2)
        self.wrap = MachineModel(
            MachineSpec("wash", 0.02, Behaviour(jitter=0), counter_start=65530, source=WRAP), 3
        )
        self.plc = ModbusPlc([self.demo, self.orders, self.wrap], port=self.port)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant() -> AsyncIterator[Plant]:
    p = Plant()
    async with p.plc:
        yield p


@pytest_asyncio.fixture(loop_scope="module")
async def client(plant: Plant) -> AsyncIterator[AsyncModbusTcpClient]:
    c = AsyncModbusTcpClient("127.0.0.1", port=plant.port, timeout=2, retries=0)
    assert await c.connect()
    yield c
    c.close()


async def read(
    c: AsyncModbusTcpClient, unit: int, address: int, count: int, table: str = "holding"
) -> list[int]:
    fn = c.read_holding_registers if table == "holding" else c.read_input_registers
    rr = await fn(address, count=count, device_id=unit)
    assert not rr.isError(), rr
    return list(rr.registers)


async def test_demo_registers_match_truth(plant: Plant, client: AsyncModbusTcpClient) -> None:
    await asyncio.sleep(0.5)
    before = time.time_ns()
    regs = await read(client, 1, 0, 14)
    after = time.time_ns()
    truth = plant.demo.truth
    count = decode(regs[0:2], "uint32")
    assert truth.count_at(before) <= count <= truth.count_at(after)
    assert truth.count_at(after) > 0
    assert truth.reject_at(before) <= regs[2] <= truth.reject_at(after)
    assert regs[3] == 1  # running
    assert decode(regs[10:12], "uint32") == 1002  # numeric part of WO-1002


async def test_word_orders_and_tables(plant: Plant, client: AsyncModbusTcpClient) -> None:
    await asyncio.sleep(0.3)
    t = plant.orders.truth
    before = time.time_ns()
    holding = await read(client, 2, 0, 8)
    inputs = await read(client, 2, 4, 5, table="input")
    after = time.time_ns()
    count = decode(holding[0:2], "uint32", "CDAB")
    good = decode(holding[2:4], "uint32", "BADC")
    reject = decode(inputs[0:2], "uint32", "DCBA")
    assert t.count_at(before) <= count <= t.count_at(after) and count > 0
    assert (
        t.count_at(before) - t.reject_at(after) <= good <= t.count_at(after) - t.reject_at(before)
    )
    assert t.reject_at(before) <= reject <= t.reject_at(after)
    assert 0.05 < decode(holding[6:8], "float32", "CDAB") < 0.2  # last cycle, ideal 0.1 s
    assert inputs[4] == 1


async def test_uint16_counter_wraps(plant: Plant, client: AsyncModbusTcpClient) -> None:
    await asyncio.sleep(0.4)
    truth = plant.wrap.truth
    before = time.time_ns()
    (value,) = await read(client, 3, 0, 1)
    after = time.time_ns()
    assert truth.count_at(before) > 6, "started at 65530: must have passed 65535"
    possible = {
        (65530 + n) % 65536 for n in range(truth.count_at(before), truth.count_at(after) + 1)
    }
    assert value in possible and value < 65530


def mbpoll(*args: str) -> str:
    exe = shutil.which("mbpoll")
    if exe is None:
        unavailable("mbpoll not installed (apt-get install mbpoll)")
    done = subprocess.run([exe, "-1", "-0", *args], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def values(output: str) -> dict[int, float]:
    return {int(a): float(v) for a, v in re.findall(r"^\[(\d+)\]:\s+(-?[\d.]+)", output, re.M)}


async def test_mbpoll_reads_the_same_values(plant: Plant) -> None:
    port = str(plant.port)
    before = time.time_ns()
    big = await asyncio.to_thread(
        mbpoll, "-a", "1", "-r", "0", "-t", "4:int", "-B", "-p", port, "127.0.0.1"
    )
    after = time.time_ns()
    count = values(big)[0]
    assert plant.demo.truth.count_at(before) <= count <= plant.demo.truth.count_at(after)
    # CDAB is mbpoll's default ("little endian") word order for 32-bit values.
    swapped = await asyncio.to_thread(
        mbpoll, "-a", "2", "-r", "6", "-t", "4:float", "-p", port, "127.0.0.1"
    )
    assert 0.05 < values(swapped)[6] < 0.2
    state = await asyncio.to_thread(
        mbpoll, "-a", "1", "-r", "3", "-c", "1", "-p", port, "127.0.0.1"
    )
    assert values(state)[3] == 1


async def test_downlink_by_pymodbus_write(plant: Plant, client: AsyncModbusTcpClient) -> None:
    at = time.time_ns()
    rr = await client.write_registers(10, [0, 2001, 0, 40], device_id=1)
    assert not rr.isError()
    change = plant.demo.truth.order_changes()[-1]
    assert (change.order, change.target, change.cause) == ("2001", 40, "downlink")
    assert change.ts_ns >= at
    setup = [e for e in plant.demo.truth.state_changes() if e.ts_ns == change.ts_ns]
    assert setup and setup[-1].state == "setup"
    regs = await read(client, 1, 3, 11)
    assert (
        regs[0] == 4 and decode(regs[7:9], "uint32") == 2001 and decode(regs[9:11], "uint32") == 40
    )


async def test_writing_a_counter_is_refused(plant: Plant, client: AsyncModbusTcpClient) -> None:
    rr = await client.write_registers(0, [0, 0], device_id=1)
    assert rr.isError() and rr.exception_code == 2
    regs = await read(client, 1, 0, 2)
    assert decode(regs, "uint32") == plant.demo.truth.count_at(time.time_ns()) > 0


async def test_downlink_by_mbpoll_write(plant: Plant) -> None:
    await asyncio.to_thread(
        mbpoll,
        "-a",
        "1",
        "-r",
        "10",
        "-t",
        "4:int",
        "-B",
        "-p",
        str(plant.port),
        "127.0.0.1",
        "3003",
    )
    change = plant.demo.truth.order_changes()[-1]
    assert (change.order, change.cause) == ("3003", "downlink")
    assert plant.demo.state == "setup"


def raw_read(port: int) -> bytes:
    """One request on a fresh socket, by hand: b"" when the PLC dropped the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(struct.pack(">HHHBBHH", 7, 0, 6, 1, 3, 0, 4))
        return sock.recv(256)


async def test_busy_and_dropped_connections_are_injected_and_recorded() -> None:
    model = MachineModel(MachineSpec("faulty", 0.1, source=ModbusLayout()), 1)
    port = free_port()
    async with ModbusPlc([model], port=port, busy_share=0.3, drop_share=0.2, fault_seed=4):
        replies = [await asyncio.to_thread(raw_read, port) for _ in range(40)]
    dropped = replies.count(b"")
    busy = sum(1 for r in replies if r[7:9] == bytes((0x83, 0x06)))
    ok = sum(1 for r in replies if r[7:8] == bytes((0x03,)))
    assert busy > 0 and dropped > 0 and ok > 0 and busy + dropped + ok == 40
    kinds = [e.cause for e in model.truth.injected()]
    assert (kinds.count("modbus_busy"), kinds.count("modbus_drop")) == (busy, dropped)


async def test_pymodbus_client_sees_device_busy() -> None:
    model = MachineModel(MachineSpec("busy", 0.1, source=ModbusLayout()), 1)
    port = free_port()
    async with ModbusPlc([model], port=port, busy_share=0.5, fault_seed=1):
        c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        assert await c.connect()
        codes = []
        for _ in range(20):
            rr = await c.read_holding_registers(0, count=4, device_id=1)
            codes.append(rr.exception_code if rr.isError() else 0)
        c.close()
    assert set(codes) == {0, 6}
    assert codes.count(6) == len(model.truth.injected())


async def test_port_in_use_and_restart_on_same_port(plant: Plant) -> None:
    model = MachineModel(MachineSpec("x", 1.0, source=ModbusLayout()), 1)
    with pytest.raises(PortInUseError):
        async with ModbusPlc([model], port=plant.port):
            pass
    port = free_port()
    for _ in range(2):
        async with ModbusPlc([model], port=port):
            c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
            assert await c.connect()
            assert len(await read(c, 1, 0, 4)) == 4
            c.close()
    assert model.truth.count >= 0 and model.now_ns > 0
