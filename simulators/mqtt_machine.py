"""Simulated MQTT machines: one paho-mqtt client publishing for several machines.

JSON machines publish ``telemetry.snapshot`` to their topic when something changed (at most once
per tick, stamped with the time of the last event) and every ``period_s`` anyway. Sparkplug
machines are devices of one edge node: NBIRTH/DBIRTH on connect and on an NCMD rebirth, then
DDATA by alias; the NDEATH will carries the bdSeq. Fault injection (JSON only): before a share of
the messages a bad one is published and recorded in that machine's truth as ``injected``.

paho runs its network loop in its own thread; its callbacks only hand work to the asyncio loop,
which alone touches the models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators import telemetry
from simulators.errors import BrokerError
from simulators.layout import MqttFormat, MqttLayout
from simulators.machine import MachineModel
from simulators.sparkplug import MetricValue, SparkplugNode
from simulators.telemetry import MqttFaults

log = logging.getLogger(__name__)


@dataclass
class _Publisher:
    model: MachineModel
    layout: MqttLayout
    sent_events: int = -1
    last_publish_ns: int = 0


def _sparkplug_values(model: MachineModel, layout: MqttLayout) -> dict[str, MetricValue]:
    t = model.truth
    return {
        "count": model.wire_count,
        "reject": t.reject,
        "good": t.good,
        "state": layout.state_codes.get(model.state, 0),
        "order": model.order or "",
        "target": model.target,
    }


class MqttMachine:
    """Async context manager: connects on enter, publishes every ``tick_s``, NDEATH on exit."""

    def __init__(
        self,
        machines: Sequence[MachineModel],
        broker_url: str = "mqtt://127.0.0.1:1883",
        topic_template: str = "plant/{machine}/telemetry",
        qos: int = 1,
        *,
        format: MqttFormat = "json",
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        faults: MqttFaults | None = None,
        fault_seed: int = 0,
        group: str = "atelier",
        node: str = "sim-node",
        tick_s: float = 0.1,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        parts = urlsplit(broker_url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = tls or parts.scheme in ("mqtts", "ssl")
        self.port = parts.port or (8883 if self.tls else 1883)
        self.qos = qos
        self.client_id = client_id or f"atelier-sim-{node}-{random.randrange(1 << 32):08x}"
        self._username, self._password, self._ca_file = username, password, ca_file
        self.faults = faults or MqttFaults()
        self._rng = random.Random(f"mqtt-faults/{fault_seed}")
        self.tick_s = tick_s
        self._clock = clock
        self.sparkplug = SparkplugNode(group, node)
        self.published = 0
        self._publishers: list[_Publisher] = []
        for model in machines:
            layout = model.spec.source
            if not isinstance(layout, MqttLayout):
                layout = MqttLayout(topic_template.format(machine=model.id), format=format)
            self._publishers.append(_Publisher(model, layout))
        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._connack = asyncio.Event()  # first CONNACK, accepted or not
        self._refusal: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._sessions = 0

    @property
    def machines(self) -> list[MachineModel]:
        return [p.model for p in self._publishers]

    def topic_of(self, machine_id: str) -> str:
        for p in self._publishers:
            if p.model.id == machine_id:
                if p.layout.format == "sparkplug":
                    return self.sparkplug.topic("DDATA", self._device(p))
                return p.layout.topic
        raise KeyError(machine_id)

    @staticmethod
    def _device(p: _Publisher) -> str:
        return p.layout.device or p.model.id

    def _has_sparkplug(self) -> bool:
        return any(p.layout.format == "sparkplug" for p in self._publishers)

    async def __aenter__(self) -> MqttMachine:
        self._loop = asyncio.get_running_loop()
        now = self._clock()
        for p in self._publishers:
            p.model.advance(now)  # so the births carry the real state
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311
        )
        if self._username is not None:
            client.username_pw_set(self._username, self._password)
        if self.tls:
            client.tls_set(ca_certs=self._ca_file, cert_reqs=ssl.CERT_REQUIRED)
        if self._has_sparkplug():
            client.will_set(self.sparkplug.topic("NDEATH"), self.sparkplug.death(), qos=1)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        try:
            if self.tls:
                await asyncio.to_thread(self._tls_preflight)
            await asyncio.to_thread(client.connect, self.host, self.port, 30)
        except (OSError, ValueError) as exc:
            raise BrokerError(f"mqtt: cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._client = client
        client.loop_start()
        try:
            await asyncio.wait_for(self._connack.wait(), timeout=10)
        except TimeoutError as exc:
            await self._close()
            raise BrokerError(f"mqtt: no CONNACK from {self.host}:{self.port}") from exc
        if self._refusal is not None:
            await self._close()
            raise BrokerError(f"mqtt: {self.host}:{self.port} refused us: {self._refusal}")
        self._task = asyncio.create_task(self._run(), name="mqtt-machine-tick")
        log.info("MQTT machines publishing to %s:%d", self.host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None and self._has_sparkplug() and self._connected.is_set():
            # A clean disconnect suppresses the will: say goodbye explicitly.
            info = self._client.publish(
                self.sparkplug.topic("NDEATH"), self.sparkplug.death(), qos=1
            )
            with contextlib.suppress(RuntimeError, ValueError):
                await asyncio.to_thread(info.wait_for_publish, 2.0)
        await self._close()

    def _tls_preflight(self) -> None:
        """Handshake once with our own socket: paho leaks its socket when its handshake fails."""
        context = ssl.create_default_context(cafile=self._ca_file)
        with (
            socket.create_connection((self.host, self.port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=self.host),
        ):
            pass

    def cut_connection(self) -> None:
        """Fault injection: drop the TCP connection without an MQTT DISCONNECT.

        The broker publishes the will (Sparkplug NDEATH); paho reconnects after about a second
        and the new session starts with births carrying the next bdSeq.
        """
        sock = self._client.socket() if self._client is not None else None
        if isinstance(sock, socket.socket):
            now = self._clock()
            for p in self._publishers:
                p.model.truth.record_injected(now, "mqtt_cut")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def sessions(self) -> int:
        """MQTT sessions started so far (1 after a clean start, +1 per reconnect)."""
        return self._sessions

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    # -- paho thread -> asyncio ----------------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        assert self._loop is not None
        if rc.is_failure:
            log.warning("mqtt: broker refused connection: %s", rc)
            self._loop.call_soon_threadsafe(self._refused, str(rc))
            return
        if self._has_sparkplug():
            client.subscribe(self.sparkplug.topic("NCMD"), qos=1)
        self._loop.call_soon_threadsafe(self._session_started)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
            self._loop.call_soon_threadsafe(self._session_lost, client)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if SparkplugNode.is_rebirth_request(bytes(message.payload)):
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._births)

    # -- asyncio side --------------------------------------------------------------------------
    def _refused(self, reason: str) -> None:
        if not self._connack.is_set():
            self._refusal = reason
            self._connack.set()

    def _session_started(self) -> None:
        self._connack.set()
        self._sessions += 1
        self._connected.set()
        for p in self._publishers:
            p.sent_events = -1  # republish everything on a new session
        if self._has_sparkplug():
            self._births()

    def _session_lost(self, client: mqtt.Client) -> None:
        self._connected.clear()
        if self._has_sparkplug():
            self.sparkplug.next_connection()
            client.will_set(self.sparkplug.topic("NDEATH"), self.sparkplug.death(), qos=1)

    def _births(self) -> None:
        now_ms = self._clock() // 1_000_000
        self._publish(self.sparkplug.topic("NBIRTH"), self.sparkplug.node_birth(now_ms))
        for p in self._publishers:
            if p.layout.format == "sparkplug":
                values = _sparkplug_values(p.model, p.layout)
                topic = self.sparkplug.topic("DBIRTH", self._device(p))
                self._publish(topic, self.sparkplug.device_birth(self._device(p), values, now_ms))
                p.sent_events = len(p.model.truth.events)

    def _publish(self, topic: str, payload: bytes) -> None:
        assert self._client is not None
        self._client.publish(topic, payload, qos=self.qos)
        self.published += 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.tick()

    def tick(self) -> None:
        """Advance the models and publish what is due."""
        now = self._clock()
        for p in self._publishers:
            p.model.advance(now)
            if self._connected.is_set():
                self._publish_machine(p, now)

    def _publish_machine(self, p: _Publisher, now: int) -> None:
        events = p.model.truth.events
        changed = p.sent_events != len(events)
        if p.layout.format == "sparkplug":
            if changed:
                p.sent_events = len(events)
                ts_ms = events[-1].ts_ns // 1_000_000
                data = self.sparkplug.device_data(
                    self._device(p), _sparkplug_values(p.model, p.layout), ts_ms
                )
                if data is not None:
                    self._publish(self.sparkplug.topic("DDATA", self._device(p)), data)
            return
        due = now - p.last_publish_ns >= p.layout.period_s * 1e9
        if not (changed or due):
            return
        ts = events[-1].ts_ns if changed and events else now
        message = telemetry.snapshot(p.model, p.layout, ts)
        fault = self.faults.draw(self._rng)
        if fault is not None:
            p.model.truth.record_injected(now, f"mqtt_{fault}")
            self._publish(p.layout.topic, telemetry.bad_payload(fault, message))
        self._publish(p.layout.topic, telemetry.encode(message))
        p.sent_events = len(events)
        p.last_publish_ns = now
