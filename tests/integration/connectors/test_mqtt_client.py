"""connectors.mqtt_client.Client against Mosquitto: paho still builds its socket through the
hook the buffering relies on, and a burst read many packets at a time arrives whole, in
order, with its QoS 1 acknowledgements going out while the burst is read."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from connectors.mqtt_client import PACKETS_PER_READ, BufferedSocket, Client
from tests.integration.connectors.support import Publisher
from tests.support.services import mqtt_broker

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5], ids=["3.1.1", "5"])
def test_burst_arrives_whole_and_in_order(protocol: int) -> None:
    host, port = mqtt_broker()
    topic = f"atelier-test/{uuid.uuid4().hex[:10]}/burst"
    n = PACKETS_PER_READ * 6
    got: list[bytes] = []
    done, subscribed = threading.Event(), threading.Event()

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        got.append(message.payload)
        if len(got) == n:
            done.set()

    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"atelier-test-{uuid.uuid4().hex[:8]}",
        protocol=protocol,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.connect(host, port, 30)
    client.loop_start()
    try:
        assert subscribed.wait(10), "no SUBACK"
        assert isinstance(client.socket(), BufferedSocket), "paho no longer calls _create_socket"
        with Publisher(host, port) as pub:
            for i in range(n):
                pub.publish(topic, b"%06d" % i, qos=1)
        assert done.wait(30), f"{len(got)} of {n} messages"
        assert got == [b"%06d" % i for i in range(n)]
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5], ids=["3.1.1", "5"])
def test_flush_is_a_ping_round_trip(protocol: int) -> None:
    """flush() returns once the broker answered its PINGREQ (so it handled every earlier packet),
    through paho's private ping hooks; without a connection it says so at once."""
    host, port = mqtt_broker()
    connected = threading.Event()
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"atelier-test-{uuid.uuid4().hex[:8]}",
        protocol=protocol,
    )
    client.on_connect = lambda *_a: connected.set()
    assert client.flush(0.1) is False  # never connected
    client.connect(host, port, 30)
    client.loop_start()
    try:
        assert connected.wait(10), "no CONNACK"
        for n in (1, 2, 3):
            assert client.flush(5.0) is True
            assert (client._pings_sent, client._pings_answered) == (n, n)
    finally:
        client.disconnect()
        client.loop_stop()
    assert client.flush(0.1) is False  # disconnected
