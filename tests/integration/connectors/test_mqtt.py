"""MQTT connector against Mosquitto: JSON, wildcards, bad input, no-loss acks, broker restart,
Sparkplug B births/aliases/rebirth/death."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest

from connectors import MqttSignalSpec, MqttSourceSpec, Reconnect, build
from connectors import sparkplug_b_pb2 as pb
from connectors.base import ConnectionState, MachineState
from connectors.sparkplug import REBIRTH_METRIC
from tests.integration.connectors.support import Collector, Mosquitto, Publisher
from tests.support.services import free_port, mqtt_broker

pytestmark = pytest.mark.integration
ROOT = str(Path(__file__).resolve().parents[3])

SIGNALS = (
    MqttSignalSpec("count", "counters.total"),
    MqttSignalSpec("reject", "counters.reject"),
    MqttSignalSpec("state", "status", states={"RUN": "running", "ALARM": "fault"}),
)


def spec(url: str, topic: str, **kw: object) -> MqttSourceSpec:
    return MqttSourceSpec(
        machine="oven-03",
        url=url,
        topic=topic,
        signals=kw.pop("signals", SIGNALS),  # type: ignore[arg-type]
        reconnect=Reconnect(1.0, 2.0),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def broker() -> tuple[str, int]:
    return mqtt_broker()


@pytest.fixture
def root() -> str:
    return f"atelier-test/{uuid.uuid4().hex[:10]}"


def message(total: int, status: str = "RUN", ts: int | None = None) -> str:
    doc: dict[str, object] = {"counters": {"total": total, "reject": 0}, "status": status}
    if ts is not None:
        doc["ts"] = ts
    return json.dumps(doc)


async def test_wildcard_topic_machine_level_and_timestamp(
    broker: tuple[str, int], root: str
) -> None:
    host, port = broker
    s = spec(f"mqtt://{host}:{port}", f"{root}/+/telemetry", machine_level=2, timestamp_field="ts")
    async with build(s) as conn, Collector(conn) as col:
        await col.wait_for(lambda: conn.state is ConnectionState.connected)
        with Publisher(host, port) as pub:
            pub.publish(f"{root}/oven-07/telemetry", message(5, "ALARM", ts=1_700_000_000_000))
            pub.publish(f"{root}/oven-08/telemetry", message(9))
            pub.publish(f"{root}/oven-08/other", message(99))  # outside the filter
        await col.wait_for(lambda: len(col.samples) >= 6)
        by_machine = {(x.machine, x.signal): x for x in col.samples}
        assert by_machine[("oven-07", "count")].value == 5.0
        assert by_machine[("oven-07", "count")].ts_ns == 1_700_000_000_000_000_000
        assert by_machine[("oven-07", "state")].value == MachineState.fault
        assert by_machine[("oven-08", "count")].value == 9.0
        assert all(x.value != 99.0 for x in col.samples)


async def test_bad_input_is_counted_and_sampling_continues(
    broker: tuple[str, int], root: str
) -> None:
    host, port = broker
    s = spec(f"mqtt://{host}:{port}", f"{root}/telemetry", max_payload_bytes=200)
    async with build(s) as conn, Collector(conn) as col:
        await col.wait_for(lambda: conn.state is ConnectionState.connected)
        with Publisher(host, port) as pub:
            topic = f"{root}/telemetry"
            pub.publish(topic, "{not json")
            pub.publish(topic, "[1, 2, 3]")
            pub.publish(topic, json.dumps({"counters": {"total": "many"}}))
            pub.publish(topic, json.dumps({"x": "y" * 500}))
            pub.publish(topic, json.dumps({"status": "MELTING"}))
            pub.publish(topic, b"\xff\xfe\x00")
            pub.publish(topic, message(42))
        await col.wait_for(lambda: any(x.value == 42.0 for x in col.of("count")))
        errors = conn.status.errors
        assert errors["malformed_json"] == 2
        assert errors["not_object"] == 1
        assert errors["wrong_type"] == 1
        assert errors["oversized"] == 1
        assert errors["unmapped_state"] == 1
        assert conn.state is ConnectionState.connected


async def test_unacknowledged_messages_survive_a_connector_kill(
    broker: tuple[str, int], root: str
) -> None:
    """The consumer stops acknowledging; the connector dies; a new one with the same client id
    receives every message — those received but never acknowledged, and those published while
    no connector ran."""
    host, port = broker
    topic = f"{root}/telemetry"
    client_id = f"atelier-noloss-{uuid.uuid4().hex[:8]}"
    s = spec(f"mqtt://{host}:{port}", topic, client_id=client_id, session_expiry_s=60)
    conn = build(s)
    with Publisher(host, port) as pub:
        async with conn, Collector(conn, ack=False) as col:
            await col.wait_for(lambda: conn.state is ConnectionState.connected)
            for n in range(1, 41):
                pub.publish(topic, message(n))
            await col.wait_for(lambda: len(col.of("count")) >= 40)
            assert col.unacked  # received, never acknowledged
        for n in range(41, 81):  # nobody connected: the broker keeps them in the session
            pub.publish(topic, message(n))
        again = build(s)
        async with again, Collector(again) as col2:
            await col2.wait_for(lambda: {x.value for x in col2.of("count")} >= set(range(1, 81)))
        # the session goes on: a third connector receives what is published next. (It may also
        # see a few of the acknowledged messages again: at-least-once allows duplicates, and the
        # shared broker occasionally redelivers acked messages to the next session.)
        third = build(s)
        async with third, Collector(third) as col3:
            await col3.wait_for(lambda: third.state is ConnectionState.connected)
            pub.publish(topic, message(1000))
            await col3.wait_for(lambda: any(x.value == 1000.0 for x in col3.of("count")))
            assert {x.value for x in col3.of("count")} <= {*map(float, range(1, 81)), 1000.0}


async def test_broker_restart_resumes_within_10_s(tmp_path: Path) -> None:
    port = free_port()
    topic = f"atelier-test/{uuid.uuid4().hex[:8]}/telemetry"
    with Mosquitto(port, tmp_path) as broker:
        conn = build(spec(f"mqtt://127.0.0.1:{port}", topic))
        async with conn, Collector(conn) as col:
            await col.wait_for(lambda: conn.state is ConnectionState.connected)
            with Publisher("127.0.0.1", port) as pub:
                pub.publish(topic, message(1))
            await col.wait_for(lambda: any(x.value == 1.0 for x in col.of("count")))
            broker.stop()
            await col.wait_for(lambda: conn.state is ConnectionState.reconnecting, 10)
            broker.start()
            took = await col.wait_for(lambda: conn.state is ConnectionState.connected, 10)
            with Publisher("127.0.0.1", port) as pub:
                pub.publish(topic, message(2))
            took += await col.wait_for(lambda: any(x.value == 2.0 for x in col.of("count")), 10)
            assert took < 10
            assert conn.status.errors["connection_lost"] >= 1


def spb(seq: int | None, metrics: list[dict[str, object]], ts: int = 1_700_000_000_000) -> bytes:
    payload = pb.Payload(timestamp=ts)
    if seq is not None:
        payload.seq = seq
    for m in metrics:
        payload.metrics.add(**m)  # type: ignore[arg-type]
    return payload.SerializeToString()


async def test_sparkplug_births_aliases_rebirth_and_death(broker: tuple[str, int]) -> None:
    host, port = broker
    group = f"atelier-{uuid.uuid4().hex[:8]}"
    signals = (
        MqttSignalSpec("count", "Production/Count"),
        MqttSignalSpec("state", "Status/State", states={"1": "running", "3": "fault"}),
    )
    s = spec(
        f"mqtt://{host}:{port}",
        f"spBv1.0/{group}/#",
        signals=signals,
        format="sparkplug",
        machine_level=4,
    )
    base = f"spBv1.0/{group}"
    async with build(s) as conn, Collector(conn) as col:
        await col.wait_for(lambda: conn.state is ConnectionState.connected)
        with Publisher(host, port) as pub:
            pub.subscribe(f"{base}/NCMD/#")
            pub.publish(
                f"{base}/NBIRTH/edge1", spb(0, [{"name": "bdSeq", "datatype": 8, "long_value": 1}])
            )
            pub.publish(
                f"{base}/DBIRTH/edge1/press-09",
                spb(
                    1,
                    [
                        {"name": "Production/Count", "alias": 10, "datatype": 7, "int_value": 100},
                        {"name": "Status/State", "alias": 11, "datatype": 3, "int_value": 1},
                    ],
                ),
            )
            pub.publish(f"{base}/DDATA/edge1/press-09", spb(2, [{"alias": 10, "int_value": 101}]))
            await col.wait_for(lambda: [x.value for x in col.of("count")] == [100.0, 101.0])
            assert col.of("count")[0].machine == "press-09"
            assert col.of("state")[0].value == MachineState.running
            # a lost message (seq 3 never arrives) -> rebirth request on NCMD
            pub.publish(f"{base}/DDATA/edge1/press-09", spb(4, [{"alias": 11, "int_value": 3}]))
            await col.wait_for(lambda: conn.status.errors.get("seq_gap") == 1)
            await col.wait_for(lambda: len(pub.received) >= 1)
            topic, raw = pub.received[0]
            assert topic == f"{base}/NCMD/edge1"
            (metric,) = pb.Payload.FromString(raw).metrics
            assert (metric.name, metric.boolean_value) == (REBIRTH_METRIC, True)
            pub.publish(f"{base}/DDATA/edge1/press-09", spb(5, [{"alias": 77, "int_value": 1}]))
            await col.wait_for(lambda: conn.status.errors.get("unknown_alias") == 1)
            pub.publish(f"{base}/DDATA/edge1/press-09", b"\xff\xff\x00 not protobuf")
            await col.wait_for(lambda: conn.status.errors.get("malformed_protobuf") == 1)
            pub.publish(f"{base}/DDATA/edge1/press-09", spb(6, [{"alias": 10, "int_value": 102}]))
            await col.wait_for(lambda: col.of("count")[-1].value == 102.0)
            pub.publish(
                f"{base}/NDEATH/edge1",
                spb(None, [{"name": "bdSeq", "datatype": 8, "long_value": 1}]),
            )
            await col.wait_for(lambda: col.of("state")[-1].value == MachineState.offline)
            assert col.of("state")[-1].machine == "press-09"


async def test_sigkill_between_receive_and_store_loses_nothing(
    broker: tuple[str, int], root: str
) -> None:
    """A real crash: the consumer process is SIGKILLed after receiving (never acknowledging);
    a new connector with the same client id gets those messages and the ones sent meanwhile."""
    host, port = broker
    topic = f"{root}/telemetry"
    url, client_id = f"mqtt://{host}:{port}", f"atelier-crash-{uuid.uuid4().hex[:8]}"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.connectors.crash_consumer",
        url,
        topic,
        client_id,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 20)
        assert line.strip() == b"connected"
        with Publisher(host, port) as pub:
            for n in range(1, 31):
                pub.publish(topic, message(n))
            received = 0
            while received < 30:
                received = int(await asyncio.wait_for(child.stdout.readline(), 10))
            child.kill()  # SIGKILL: no DISCONNECT, no ack, nothing flushed
            await child.wait()
            for n in range(31, 61):
                pub.publish(topic, message(n))
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    s = spec(url, topic, client_id=client_id, session_expiry_s=60)
    async with build(s) as conn, Collector(conn) as col:
        await col.wait_for(lambda: {x.value for x in col.of("count")} >= set(range(1, 61)))
