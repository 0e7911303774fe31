"""MQTT machines read by a paho subscriber and mosquitto_sub through the real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.errors import BrokerError
from simulators.layout import DEFAULT_STATUS_TEXT, MqttLayout
from simulators.machine import Behaviour, MachineModel, MachineSpec
from simulators.mqtt_machine import MqttMachine
from simulators.sparkplug_proto import Payload
from simulators.telemetry import MqttFaults
from tests.support.services import free_port, mqtt_broker, unavailable

pytestmark = pytest.mark.integration

FAST = Behaviour(jitter=0.1, reject_rate=0.25)


class Subscriber:
    """A plain paho client collecting (topic, payload) pairs from its own thread."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._ready.wait(5), "subscription not acknowledged"

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def taken(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker() -> tuple[str, int]:
    return mqtt_broker()


@pytest.fixture
def prefix() -> str:
    return f"atelier-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def subscriber(broker: tuple[str, int], prefix: str) -> Iterator[Subscriber]:
    sub = Subscriber(*broker, f"{prefix}/#")
    yield sub
    sub.close()


async def settle(sub: Subscriber, expected: int, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if len(sub.taken()) >= expected:
            return
        await asyncio.sleep(0.05)


async def test_json_telemetry_matches_truth(
    broker: tuple[str, int], prefix: str, subscriber: Subscriber
) -> None:
    oven = MachineModel(
        MachineSpec(
            "oven", 0.15, FAST, order="WO-3", source=MqttLayout(f"{prefix}/oven", period_s=0.5)
        ),
        1,
    )
    url = f"mqtt://{broker[0]}:{broker[1]}"
    async with MqttMachine([oven], url, qos=1, tick_s=0.05) as machine:
        await asyncio.sleep(1.5)
    await settle(subscriber, machine.published)
    messages = [json.loads(p) for _, p in subscriber.taken()]
    assert len(messages) == machine.published >= 5
    truth = oven.truth
    for m in messages:
        last_ns = m["ts"] * 1_000_000 + 999_999
        assert m["counters"]["total"] == truth.count_at(last_ns)
        assert m["counters"]["reject"] == truth.reject_at(last_ns)
        assert m["status"] == DEFAULT_STATUS_TEXT[truth.state_at(last_ns) or ""]
        assert m["order"] == "WO-3"
    assert messages[-1]["counters"]["total"] == truth.count_at(
        messages[-1]["ts"] * 1_000_000 + 999_999
    )
    assert max(m["counters"]["total"] for m in messages) >= truth.count - 1


async def test_mosquitto_sub_reads_the_topic(broker: tuple[str, int], prefix: str) -> None:
    exe = shutil.which("mosquitto_sub")
    if exe is None:
        unavailable("mosquitto_sub not installed (mosquitto-clients)")
    topic = f"{prefix}/press/telemetry"
    sub = await asyncio.create_subprocess_exec(
        exe,
        "-h",
        broker[0],
        "-p",
        str(broker[1]),
        "-t",
        topic,
        "-q",
        "1",
        "-C",
        "4",
        "-W",
        "10",
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(0.5)  # let mosquitto_sub subscribe
    press = MachineModel(MachineSpec("press", 0.1, FAST), 2)
    async with MqttMachine(
        [press], f"mqtt://{broker[0]}:{broker[1]}", f"{prefix}/{{machine}}/telemetry", tick_s=0.05
    ):
        out, _ = await asyncio.wait_for(sub.communicate(), timeout=15)
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert len(lines) == 4
    for m in lines:
        assert m["counters"]["total"] == press.truth.count_at(m["ts"] * 1_000_000 + 999_999)


async def test_injected_bad_messages_are_counted_in_truth(
    broker: tuple[str, int], prefix: str, subscriber: Subscriber
) -> None:
    faults = MqttFaults(malformed_share=0.2, wrong_type_share=0.2, oversized_share=0.1)
    model = MachineModel(MachineSpec("bad", 0.1, FAST, source=MqttLayout(f"{prefix}/bad")), 3)
    url = f"mqtt://{broker[0]}:{broker[1]}"
    async with MqttMachine([model], url, faults=faults, fault_seed=9, tick_s=0.05) as machine:
        await asyncio.sleep(1.5)
    await settle(subscriber, machine.published)
    good, bad = [], []
    for _, payload in subscriber.taken():
        try:
            m = json.loads(payload)
        except json.JSONDecodeError:
            bad.append("malformed")
            continue
        if "padding" in m:
            bad.append("oversized")
        elif not isinstance(m["counters"]["total"], int):
            bad.append("wrong_type")
        else:
            good.append(m)
    injected = [e.cause for e in model.truth.injected()]
    assert sorted(bad) == sorted(c.removeprefix("mqtt_") for c in injected)
    assert {"malformed", "wrong_type"} <= set(bad)
    # The good messages alone still account for every part: counters are cumulative.
    assert good[-1]["counters"]["total"] == model.truth.count_at(
        good[-1]["ts"] * 1_000_000 + 999_999
    )


def decode(payload: bytes) -> Any:
    return Payload.FromString(payload)


async def test_sparkplug_birth_data_seq_and_death(broker: tuple[str, int], prefix: str) -> None:
    group = prefix.replace("/", "-")
    sub = Subscriber(*broker, f"spBv1.0/{group}/#")
    model = MachineModel(
        MachineSpec("pack", 0.1, FAST, source=MqttLayout("", format="sparkplug")), 4
    )
    url = f"mqtt://{broker[0]}:{broker[1]}"
    try:
        async with MqttMachine([model], url, group=group, node="n1", tick_s=0.05) as machine:
            await asyncio.sleep(0.8)
            rebirth = Payload()
            rebirth.metrics.add(name="Node Control/Rebirth", datatype=11, boolean_value=True)
            sub.client.publish(f"spBv1.0/{group}/NCMD/n1", rebirth.SerializeToString(), qos=1)
            await asyncio.sleep(0.8)
        await settle(sub, machine.published + 1)
    finally:
        sub.close()
    msgs = [(t.split("/")[2], decode(p)) for t, p in sub.taken() if "/NCMD/" not in t]
    kinds = [k for k, _ in msgs]
    assert kinds[:2] == ["NBIRTH", "DBIRTH"] and kinds[-1] == "NDEATH"
    assert kinds.count("NBIRTH") == 2, "the NCMD rebirth must produce a second NBIRTH"
    previous = -1
    for kind, payload in msgs[:-1]:  # NDEATH carries no seq
        expected = 0 if kind == "NBIRTH" else (previous + 1) % 256
        assert payload.seq == expected, kind
        previous = payload.seq
    bd = [
        m.long_value
        for k, p in msgs
        if k in ("NBIRTH", "NDEATH")
        for m in p.metrics
        if m.name == "bdSeq"
    ]
    assert len(set(bd)) == 1
    aliases: dict[int, str] = {}
    current: dict[str, int] = {}
    last_ts = 0
    for kind, payload in msgs:
        if kind == "DBIRTH":
            aliases = {m.alias: m.name for m in payload.metrics}
            current.update({m.name: m.long_value for m in payload.metrics})
        elif kind == "DDATA":
            assert all(m.name == "" and m.alias in aliases for m in payload.metrics)
            current.update({aliases[m.alias]: m.long_value for m in payload.metrics})
            last_ts = payload.timestamp
    assert current["count"] == model.truth.count_at(last_ts * 1_000_000 + 999_999) > 3
    assert current["reject"] == model.truth.reject_at(last_ts * 1_000_000 + 999_999)


def bd_seq(payload: Any) -> int:
    return int(next(m.long_value for m in payload.metrics if m.name == "bdSeq"))


async def test_cut_connection_sends_the_will_and_rebirths_with_next_bdseq(
    broker: tuple[str, int], prefix: str
) -> None:
    group = prefix.replace("/", "-")
    sub = Subscriber(*broker, f"spBv1.0/{group}/#")
    model = MachineModel(
        MachineSpec("cut", 0.1, FAST, source=MqttLayout("", format="sparkplug")), 5
    )
    url = f"mqtt://{broker[0]}:{broker[1]}"
    try:
        async with MqttMachine([model], url, group=group, node="n2", tick_s=0.05) as machine:
            await asyncio.sleep(0.3)
            machine.cut_connection()
            for _ in range(100):
                if machine.sessions == 2:
                    break
                await asyncio.sleep(0.1)
            assert machine.sessions == 2, "paho must reconnect"
            await asyncio.sleep(0.3)
        await settle(sub, machine.published + 2)
    finally:
        sub.close()
    node = [(t.split("/")[2], decode(p)) for t, p in sub.taken() if t.split("/")[2][0] == "N"]
    kinds = [k for k, _ in node]
    assert kinds == ["NBIRTH", "NDEATH", "NBIRTH", "NDEATH"], kinds
    assert [bd_seq(p) for _, p in node] == [0, 0, 1, 1]
    assert [e.cause for e in model.truth.injected()] == ["mqtt_cut"]


async def test_unreachable_broker_is_a_clear_error() -> None:
    model = MachineModel(MachineSpec("x", 1.0), 1)
    with pytest.raises(BrokerError, match="cannot connect"):
        async with MqttMachine([model], f"mqtt://127.0.0.1:{free_port()}"):
            pass
