"""MQTT connector (paho-mqtt 2.x): JSON or Sparkplug B, at-least-once into the edge store.

QoS 1 messages are acknowledged only when the consumer acknowledges the batch that carried
them (``Client(manual_ack=True)`` + ``client.ack(mid, 1)``), over a persistent MQTT 5 session
(``clean_start=False``, a session expiry and a stable client id): a crash between receive and
store leaves the messages with the broker, which sends them again. Acks of a batch received
on an earlier connection are not sent (message ids restart per connection): the broker
redelivers those messages instead — a duplicate, never a loss.

MQTT 3.1.1 brokers (amqtt, the demo's embedded broker; older appliances) get the same
behaviour through ``clean_session=False``: manual acks work alike, the session simply lasts as
long as the broker keeps it. The version is configured (``mqtt_version``), not negotiated:
amqtt does not refuse a version 5 CONNECT that carries properties, it waits for bytes that never
come, so a fallback on refusal would not reach the one 3.1.1-only broker Atelier ships with.
A broker that refuses version 5, or never answers its CONNECT (amqtt), gets an error that names
``mqtt_version``.

paho's own thread keeps the connection (and reconnects with its capped backoff); messages cross
into asyncio through :class:`~connectors.mqtt_bridge.Inbox` (decoded in paho's thread).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from connectors.base import BadInput, ConfigurationError, ConnectionState, Sample, SampleColumns
from connectors.mqtt_bridge import Inbox, Taken
from connectors.mqtt_client import Client
from connectors.mqtt_json import JsonDecoder
from connectors.runtime import SupervisedConnector, logger
from connectors.sparkplug import SparkplugDecoder, rebirth_request
from connectors.specs import MqttSourceSpec
from connectors.values import ValueMap, state_codes

REBIRTH_INTERVAL_NS = 5_000_000_000  # one rebirth request per node per 5 s, not one per message
UNSUPPORTED_PROTOCOL_VERSION = 132  # CONNACK reason code (paho maps 3.1.1's return code 1 to it)


def default_client_id(spec: MqttSourceSpec) -> str:
    """Stable across restarts (the persistent session depends on it), distinct per source."""
    digest = hashlib.sha1(f"{spec.url}|{spec.topic}".encode()).hexdigest()[:8]
    return f"atelier-{spec.machine}-{digest}"


class MqttConnector(SupervisedConnector):
    def __init__(self, spec: MqttSourceSpec) -> None:
        super().__init__(spec.machine)
        self.spec = spec
        parts = urlsplit(spec.url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ConfigurationError(f"source {spec.machine}: unsupported MQTT url {spec.url!r}")
        self._tls = spec.tls or parts.scheme in ("mqtts", "ssl")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (8883 if self._tls else 1883)
        self.client_id = spec.client_id or default_client_id(spec)
        self._json = JsonDecoder(
            spec.machine,
            spec.signals,
            machine_level=spec.machine_level,
            timestamp_field=spec.timestamp_field,
        )
        metrics = {
            s.field: (s.name, ValueMap(s.scale, s.offset, state_codes(s.states, signal=s.name)))
            for s in spec.signals
        }
        self._sparkplug = SparkplugDecoder(spec.machine, metrics, spec.machine_level)
        self._client: Client | None = None
        self._generation = 0  # bumped on every (re)connect, read by ack closures
        self._rebirth_sent: dict[tuple[str, str], int] = {}
        self._disconnected = threading.Event()
        self._protocol = paho.MQTTv311 if spec.mqtt_version == "3.1.1" else paho.MQTTv5
        self._answered = False  # a CONNACK came for the current attempt (paho's thread)

    # -- paho side (its network thread) ----------------------------------------------------------
    def _make_client(self, loop: asyncio.AbstractEventLoop, inbox: Inbox) -> Client:
        spec = self.spec
        protocol = self._protocol
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=protocol,
            # 3.1.1's persistent session; MQTT 5 sets clean_start on connect instead
            clean_session=None if protocol == paho.MQTTv5 else spec.qos != 1,
            manual_ack=spec.qos == 1,
        )
        client.max_inflight_messages_set(100)  # our own publishes (rebirth requests); pre-connect
        client.reconnect_delay_set(max(1, round(spec.reconnect.min_s)), round(spec.reconnect.max_s))
        if spec.username:
            password = os.environ.get(spec.password_env) if spec.password_env else None
            client.username_pw_set(spec.username, password)
        if self._tls:
            client.tls_set(ca_certs=spec.ca_certs)

        def on_connect(c: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            self._answered = True
            if rc.is_failure:
                hint = self._hint() if rc.value == UNSUPPORTED_PROTOCOL_VERSION else ""
                loop.call_soon_threadsafe(self._failed, f"connect refused: {rc}{hint}")
                return
            self._generation += 1
            c.subscribe(spec.topic, qos=spec.qos)
            loop.call_soon_threadsafe(self._connected)

        def on_disconnect(_c: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            if not self._answered and not self._closing:
                # amqtt reads a version 5 CONNECT as 3.1.1 and waits for bytes that never come;
                # paho gives up after keepalive_s: say why, or the source just sits reconnecting
                reason = f"no answer to CONNECT from {self._host}:{self._port}{self._hint()}"
                loop.call_soon_threadsafe(self._failed, reason)
            self._answered = False
            self._disconnected.set()
            loop.call_soon_threadsafe(self._down, f"disconnected: {rc}")

        put, max_bytes, clock = inbox.put, spec.max_payload_bytes, time.time_ns
        clean = self._json.clean if spec.format == "json" else None

        def on_message(c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
            ack = (self._generation, message.mid) if message.qos == 1 else None
            payload = message.payload
            recv_ns = clock()  # receive time, wall clock
            if clean is not None and len(payload) <= max_bytes:
                values = clean(payload, recv_ns, lambda: message.topic)
                if values is not None:  # the common message: no Sample per value
                    put([], ack, [], values)
                    return
            samples: list[Sample] = []
            bad = self._decode(c, message, recv_ns, samples)
            put(samples, ack, bad)

        def on_connect_fail(_c: paho.Client, _u: Any) -> None:
            loop.call_soon_threadsafe(self._failed, f"cannot connect to {self._host}:{self._port}")

        client.on_connect = on_connect
        client.on_connect_fail = on_connect_fail
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        return client

    def _hint(self) -> str:
        if self._protocol != paho.MQTTv5:
            return ""
        return ' (a broker without MQTT 5? set mqtt_version: "3.1.1")'

    def _failed(self, reason: str) -> None:
        self._bad("connect_failed", reason)
        self._tracker.set_state(ConnectionState.reconnecting, reason)

    def _down(self, reason: str) -> None:
        if self._closing:
            return  # our own disconnect on close
        if self._tracker.state is ConnectionState.connected:
            logger.warning("source %s: %s", self.name, reason)
            self._bad("connection_lost", reason)
            self._tracker.set_state(ConnectionState.reconnecting, reason)
        else:  # the end of a refused attempt: keep the refusal as the reason
            self._tracker.set_state(ConnectionState.reconnecting)

    def _decode(
        self, client: paho.Client, message: paho.MQTTMessage, recv_ns: int, out: list[Sample]
    ) -> list[BadInput]:
        """One message -> samples appended to ``out``; returns its problems (paho's thread)."""
        try:
            topic = message.topic
            payload = message.payload
            if len(payload) > self.spec.max_payload_bytes:
                raise BadInput("oversized", f"{topic}: {len(payload)} bytes")
            if self.spec.format == "sparkplug":
                return self._sparkplug_message(client, topic, payload, recv_ns, out)
            return self._json.decode(topic, payload, recv_ns, out)
        except BadInput as exc:
            return [exc]
        except UnicodeDecodeError:
            return [BadInput("bad_topic", repr(message._topic[:60]))]

    # -- asyncio side ----------------------------------------------------------------------------
    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        inbox = Inbox(loop, self.spec.buffer_messages)
        client = self._make_client(loop, inbox)
        self._client = client
        try:
            self._connect(client, self._protocol)
            client.loop_start()
            linger_s = self.spec.linger_ms / 1000
            while True:
                await inbox.ready.wait()
                await self._handle(client, inbox.take())
                # Let messages gather for a moment: one wake-up of this thread per burst instead
                # of one per message, which would cost more than decoding them (GIL hand-offs).
                await asyncio.sleep(linger_s)
        finally:
            self._client = None
            inbox.close()
            await self._disconnect(client)

    def _connect(self, client: paho.Client, protocol: int) -> None:
        if protocol != paho.MQTTv5:  # 3.1.1: the session flag was given to Client()
            client.connect_async(self._host, self._port, keepalive=self.spec.keepalive_s)
            return
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.spec.session_expiry_s
        properties.ReceiveMaximum = self.spec.receive_maximum
        client.connect_async(
            self._host,
            self._port,
            keepalive=self.spec.keepalive_s,
            clean_start=self.spec.qos != 1,  # False also on the first connect: keep the session
            properties=properties,
        )

    async def _disconnect(self, client: Client) -> None:
        # Acknowledgements queued just before closing must reach the broker, else it redelivers
        # messages that are already stored: wait (bounded) until the broker has handled them,
        # then DISCONNECT, and wait for that before stopping paho's thread.
        await asyncio.to_thread(client.flush, 1.0)
        self._disconnected.clear()
        if client.disconnect() == paho.MQTT_ERR_SUCCESS:
            await asyncio.to_thread(self._disconnected.wait, 2.0)
        await asyncio.to_thread(client.loop_stop)

    async def _handle(self, client: paho.Client, taken: Taken) -> None:
        samples: list[Sample] | SampleColumns = taken.samples
        if taken.ts_ns:
            columns = self._json.columns(taken.ts_ns, taken.machines, taken.values)
            samples = [*columns, *samples] if samples else columns
        for exc in taken.bad:
            self._bad(exc.reason, exc.detail)
        ack = self._acker(client, taken.acks) if taken.acks else None
        if len(samples):
            await self._emit(samples, ack)
        elif ack is not None:
            ack()  # nothing to store: release the messages now

    def _acker(self, client: paho.Client, acks: list[tuple[int, int]]) -> Callable[[], None]:
        def ack() -> None:
            current = self._generation
            for generation, mid in acks:
                # ids of an older connection are skipped: the broker redelivers those messages
                if generation == current:
                    client.ack(mid, 1)

        return ack

    def _sparkplug_message(
        self,
        client: paho.Client,
        topic: str,
        payload: bytes | bytearray,
        recv_ns: int,
        out: list[Sample],
    ) -> list[BadInput]:
        decoded = self._sparkplug.decode(topic, payload, recv_ns)
        out.extend(decoded.samples)
        if decoded.rebirth is not None:
            now = time.time_ns()
            if now - self._rebirth_sent.get(decoded.rebirth, 0) >= REBIRTH_INTERVAL_NS:
                self._rebirth_sent[decoded.rebirth] = now
                request_topic, request = rebirth_request(*decoded.rebirth, now // 1_000_000)
                client.publish(request_topic, request, qos=0)
        return decoded.bad
