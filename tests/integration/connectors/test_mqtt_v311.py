"""MQTT connector with ``mqtt_version="3.1.1"``: against amqtt (the demo's embedded broker,
3.1.1 only) samples arrive and are acknowledged; against Mosquitto the 3.1.1 persistent session
keeps the no-loss acks. (amqtt cannot show the latter: it marks every session of an
``allow_anonymous`` broker anonymous and keeps nothing for anonymous sessions.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from connectors import MqttSignalSpec, MqttSourceSpec, Reconnect, build
from connectors.base import ConnectionState, MachineState
from tests.integration.connectors.support import Amqtt, Collector, Publisher
from tests.support.services import free_port, mqtt_broker

pytestmark = pytest.mark.integration

SIGNALS = (
    MqttSignalSpec("count", "counters.total"),
    MqttSignalSpec("state", "status", states={"RUN": "running", "ALARM": "fault"}),
)


@pytest.fixture(scope="module")
def amqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    with Amqtt(port, tmp_path_factory.mktemp("amqtt") / "amqtt.log"):
        yield port


def spec(port: int, topic: str, host: str = "127.0.0.1", **kw: object) -> MqttSourceSpec:
    return MqttSourceSpec(
        machine="oven-03",
        url=f"mqtt://{host}:{port}",
        topic=topic,
        signals=SIGNALS,
        reconnect=Reconnect(0.2, 1.0),
        **kw,  # type: ignore[arg-type]
    )


def message(total: int) -> str:
    return json.dumps({"counters": {"total": total}, "status": "RUN"})


async def test_samples_arrive_over_3_1_1(amqtt: int) -> None:
    topic = f"atelier-test/{uuid.uuid4().hex[:10]}/telemetry"
    conn = build(spec(amqtt, topic, mqtt_version="3.1.1"))
    with Publisher("127.0.0.1", amqtt) as pub:
        async with conn, Collector(conn) as col:
            await col.wait_for(lambda: conn.state is ConnectionState.connected)
            for n in range(1, 21):
                pub.publish(topic, message(n))
            await col.wait_for(lambda: len(col.of("count")) >= 20)
            assert [s.value for s in col.of("count")] == [float(n) for n in range(1, 21)]
            assert {s.value for s in col.of("state")} == {MachineState.running}
            assert conn.state is ConnectionState.connected
            assert conn.status.errors == {}


async def test_version_5_against_amqtt_says_to_set_mqtt_version(amqtt: int) -> None:
    """amqtt never answers a version 5 CONNECT; after keepalive_s the error names the fix."""
    conn = build(spec(amqtt, "atelier-test/v5", keepalive_s=1))
    async with conn, Collector(conn) as col:
        await col.wait_for(lambda: "mqtt_version" in (conn.status.last_error or ""))
        assert conn.state is ConnectionState.reconnecting
        assert conn.status.errors["connect_failed"] >= 1


async def test_3_1_1_unacknowledged_messages_survive_a_connector_kill() -> None:
    """Received but unacknowledged messages, and those published while no connector ran, reach
    the next connector with the same client id; acknowledged ones are not sent again."""
    host, port = mqtt_broker()
    topic = f"atelier-test/{uuid.uuid4().hex[:10]}/telemetry"
    client_id = f"atelier-v3-{uuid.uuid4().hex[:8]}"
    s = spec(port, topic, host, mqtt_version="3.1.1", client_id=client_id)
    with Publisher(host, port) as pub:
        first = build(s)
        async with first, Collector(first) as col:
            await col.wait_for(lambda: first.state is ConnectionState.connected)
            for n in range(1, 11):
                pub.publish(topic, message(n))
            await col.wait_for(lambda: len(col.of("count")) >= 10)
        second = build(s)
        async with second, Collector(second, ack=False) as col2:
            await col2.wait_for(lambda: second.state is ConnectionState.connected)
            for n in range(11, 31):
                pub.publish(topic, message(n))
            await col2.wait_for(lambda: len(col2.of("count")) >= 20)
            assert col2.unacked  # received, never acknowledged
        for n in range(31, 41):  # nobody connected: the broker keeps them in the session
            pub.publish(topic, message(n))
        third = build(s)
        async with third, Collector(third) as col3:
            wanted = {float(n) for n in range(11, 41)}
            await col3.wait_for(lambda: {x.value for x in col3.of("count")} >= wanted)
            assert {x.value for x in col3.of("count")} <= wanted  # 1..10 were acknowledged
