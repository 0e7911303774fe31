"""The one contract every connector keeps, run against the bundled simulators.

Parametrized over the in-memory connector and the OPC UA, Modbus and MQTT connectors, each
reading a simulated machine (``simulators``) whose ground truth is known: samples carry the
right machine, signal, value and time; the counters over a run equal the truth; after the
server (or broker) restarts, samples resume within 10 s without restarting the connector.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors import (
    MemorySourceSpec,
    ModbusSignalSpec,
    ModbusSourceSpec,
    MqttSignalSpec,
    MqttSourceSpec,
    OpcUaSignalSpec,
    OpcUaSourceSpec,
    Reconnect,
    build,
)
from connectors.base import ConnectionState, Connector, MachineState, Sample
from connectors.memory import MemoryConnector
from simulators.layout import ModbusLayout, MqttLayout, OpcUaLayout
from simulators.machine import Behaviour, MachineModel, MachineSpec, ScriptedEvent
from simulators.modbus_plc import ModbusPlc
from simulators.mqtt_machine import MqttMachine
from simulators.opcua_plc import OpcUaPlc
from tests.integration.connectors.support import Collector, Mosquitto
from tests.support.services import free_port, mqtt_broker

pytestmark = pytest.mark.integration

KINDS = ["memory", "opcua", "modbus", "mqtt"]
RUN_S = 2.0  # the machine produces for this long, then stops (its counter freezes)
CODES = {"1": "running", "2": "stopped", "3": "fault", "4": "setup", "5": "idle"}
TEXTS = {"RUN": "running", "STOP": "stopped", "ALARM": "fault", "SETUP": "setup", "IDLE": "idle"}
CANONICAL = {float(s) for s in MachineState}
RECONNECT = Reconnect(0.1, 1.0)


@dataclass
class Rig:
    kind: str
    machine: str
    model: MachineModel
    connector: Connector
    restart: Callable[[], Awaitable[None]]
    # Sample time vs the event that set the value: source timestamps are the event time up to
    # the protocol's resolution (OPC UA via Python datetime: 1 µs; the JSON ``ts``: 1 ms);
    # receive time (Modbus) comes after the read, within one poll + the timeout.
    before_ns: int
    after_ns: int


def machine_spec(machine: str, layout: object) -> MachineSpec:
    return MachineSpec(
        id=machine,
        ideal_cycle_s=0.05,
        behaviour=Behaviour(jitter=0.05, reject_rate=0.2),
        events=(ScriptedEvent(at_s=RUN_S, state="stopped", duration_s=3600),),
        source=layout,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def memory_rig(machine: str) -> AsyncIterator[Rig]:
    """The in-memory double, fed by the same machine model through a small feeder task."""
    model = MachineModel(machine_spec(machine, None), seed=3)
    conn = MemoryConnector(MemorySourceSpec(machine, ("count", "reject", "state")))
    codes = {"running": 1, "micro_stop": 1, "stopped": 3, "fault": 4, "setup": 5, "idle": 2}

    async def feed() -> None:
        while True:
            now = time.time_ns()
            model.advance(now)
            t = model.truth
            await conn.push(
                [
                    Sample(now, machine, "count", float(t.count)),
                    Sample(now, machine, "reject", float(t.reject)),
                    Sample(now, machine, "state", float(codes[model.state])),
                ]
            )
            await asyncio.sleep(0.05)

    async def restart() -> None:
        conn.disconnect()

    async with conn:
        task = asyncio.create_task(feed())
        try:
            yield Rig("memory", machine, model, conn, restart, 0, 0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def opcua_rig(machine: str) -> AsyncIterator[Rig]:
    model = MachineModel(machine_spec(machine, OpcUaLayout("Sim")), seed=4)
    port = free_port()
    plc: list[OpcUaPlc] = [OpcUaPlc([model], port=port, tick_s=0.02)]
    await plc[0].__aenter__()
    spec = OpcUaSourceSpec(
        machine=machine,
        endpoint=plc[0].endpoint,
        signals=(
            OpcUaSignalSpec("count", plc[0].node_id(machine, "Count")),
            OpcUaSignalSpec("reject", plc[0].node_id(machine, "Reject")),
            OpcUaSignalSpec("state", plc[0].node_id(machine, "State"), states=CODES),
        ),
        publishing_ms=20,
        reconnect=RECONNECT,
    )

    async def restart() -> None:
        await plc[0].__aexit__(None, None, None)
        await asyncio.sleep(0.5)
        plc[0] = OpcUaPlc([model], port=port, tick_s=0.02)
        await plc[0].__aenter__()

    try:
        async with build(spec) as conn:
            yield Rig("opcua", machine, model, conn, restart, 1_000, 1_000)
    finally:
        await plc[0].__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def modbus_rig(machine: str) -> AsyncIterator[Rig]:
    model = MachineModel(machine_spec(machine, ModbusLayout(unit=3)), seed=5)
    port = free_port()
    plc = [ModbusPlc([model], port=port)]
    await plc[0].__aenter__()
    spec = ModbusSourceSpec(
        machine=machine,
        host="127.0.0.1",
        port=port,
        unit=3,
        poll_ms=50,
        timeout_ms=500,
        signals=(
            ModbusSignalSpec("count", 0, type="uint32"),
            ModbusSignalSpec("reject", 2),
            ModbusSignalSpec("state", 3, states=CODES),
        ),
        reconnect=RECONNECT,
    )

    async def restart() -> None:
        await plc[0].__aexit__(None, None, None)
        await asyncio.sleep(0.5)
        plc[0] = ModbusPlc([model], port=port)
        await plc[0].__aenter__()

    try:
        async with build(spec) as conn:
            yield Rig("modbus", machine, model, conn, restart, 600_000_000, 0)
    finally:
        await plc[0].__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def mqtt_rig(machine: str, broker: Mosquitto | None) -> AsyncIterator[Rig]:
    """JSON over the shared Mosquitto; over a private one when the test restarts the broker."""
    host, port = ("127.0.0.1", broker.port) if broker else mqtt_broker()
    url = f"mqtt://{host}:{port}"
    topic = f"atelier-test/{uuid.uuid4().hex[:10]}/{machine}/telemetry"
    model = MachineModel(machine_spec(machine, MqttLayout(topic, period_s=0.5)), seed=6)
    sim = MqttMachine([model], url, tick_s=0.02)
    spec = MqttSourceSpec(
        machine="unused",
        url=url,
        topic=topic.replace(f"/{machine}/", "/+/"),
        machine_level=2,
        timestamp_field="ts",
        client_id=f"atelier-contract-{uuid.uuid4().hex[:8]}",
        session_expiry_s=60,
        signals=(
            MqttSignalSpec("count", "counters.total"),
            MqttSignalSpec("reject", "counters.reject"),
            MqttSignalSpec("state", "status", states=TEXTS),
        ),
        reconnect=Reconnect(1.0, 2.0),
    )

    async def restart() -> None:
        assert broker is not None
        broker.stop()
        await asyncio.sleep(0.5)
        broker.start()

    async with build(spec) as conn:
        # the connector subscribes first, so the machine's first messages are not missed
        for _ in range(100):
            if conn.state is ConnectionState.connected:
                break
            await asyncio.sleep(0.05)
        async with sim:
            yield Rig("mqtt", machine, model, conn, restart, 0, 1_000_000)


@contextlib.asynccontextmanager
async def rig(kind: str, tmp_path: Path, private_broker: bool = False) -> AsyncIterator[Rig]:
    machine = f"{kind}-m{uuid.uuid4().hex[:4]}"
    if kind == "memory":
        async with memory_rig(machine) as r:
            yield r
    elif kind == "opcua":
        async with opcua_rig(machine) as r:
            yield r
    elif kind == "modbus":
        async with modbus_rig(machine) as r:
            yield r
    elif private_broker:
        with Mosquitto(free_port(), tmp_path) as broker:
            async with mqtt_rig(machine, broker) as r:
                yield r
    else:
        async with mqtt_rig(machine, None) as r:
            yield r


def check_against_truth(r: Rig, samples: list[Sample]) -> None:
    truth = r.model.truth
    assert {s.machine for s in samples} == {r.machine}
    assert {s.signal for s in samples} == {"count", "reject", "state"}
    for s in samples:
        if s.signal == "state":
            assert s.value in CANONICAL
            continue
        at = truth.count_at if s.signal == "count" else truth.reject_at
        low, high = at(s.ts_ns - r.before_ns), at(s.ts_ns + r.after_ns)
        assert low <= s.value <= high, (s, low, high)


def last(samples: list[Sample], signal: str) -> float | None:
    for s in reversed(samples):
        if s.signal == signal:
            return s.value
    return None


@pytest.mark.parametrize("kind", KINDS)
async def test_counters_over_a_run_equal_the_ground_truth(kind: str, tmp_path: Path) -> None:
    async with rig(kind, tmp_path) as r, Collector(r.connector) as col:
        truth = r.model.truth
        await col.wait_for(
            lambda: (
                truth.state == "stopped"
                and truth.count > 10
                and last(col.samples, "count") == truth.count
                and last(col.samples, "reject") == truth.reject
            ),
            timeout_s=RUN_S + 8,
        )
        check_against_truth(r, col.samples)
        await col.wait_for(lambda: last(col.samples, "state") == MachineState.stopped)
        assert r.connector.state is ConnectionState.connected
        assert r.connector.status.samples >= len(col.samples)


@pytest.mark.parametrize("kind", KINDS)
async def test_samples_resume_within_10_s_after_a_server_restart(kind: str, tmp_path: Path) -> None:
    async with rig(kind, tmp_path, private_broker=True) as r, Collector(r.connector) as col:
        await col.wait_for(lambda: len(col.of("count")) >= 2)
        await r.restart()
        restarted = time.monotonic()
        seen = len(col.samples)
        await col.wait_for(lambda: r.connector.status.errors.get("connection_lost", 0) >= 1, 10)
        took = await col.wait_for(
            lambda: (
                r.connector.state is ConnectionState.connected
                and len(col.samples) > seen
                and last(col.samples, "count") == r.model.truth.count
            ),
            timeout_s=10,
        )
        assert time.monotonic() - restarted < 10, took
        check_against_truth(r, col.samples)
