"""Frozen specs the connectors are built from (``connectors.build(spec)``).

Field names mirror ``edge.config`` (``OpcUaSource``, ``ModbusSource``, ``MqttSource`` and their
signals) so the edge maps one onto the other field by field; connectors import nothing from
``edge``. Units are in the names. ``states`` maps a source value (as a string: ``"1"``,
``"RUN"``) to a canonical state name (``running``, ``fault``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ModbusTable = Literal["holding", "input", "coil", "discrete"]
ModbusType = Literal["bool", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64"]
WordOrder = Literal["big", "little"]
MqttVersion = Literal["5", "3.1.1"]


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Capped exponential backoff with full jitter between reconnect attempts."""

    min_s: float = 0.2
    max_s: float = 5.0


@dataclass(frozen=True, slots=True)
class OpcUaSecuritySpec:
    policy: Literal["None", "Basic256Sha256"] = "None"
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: str | None = None  # client certificate (PEM or DER path)
    private_key: str | None = None
    server_certificate: str | None = None  # optional: pin the server's certificate
    user: str | None = None
    password_env: str | None = None  # the password is read from this environment variable


@dataclass(frozen=True, slots=True)
class OpcUaSignalSpec:
    name: str
    node: str  # "ns=2;s=Press01.Count"
    scale: float = 1.0
    offset: float = 0.0
    states: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class OpcUaSourceSpec:
    machine: str
    endpoint: str
    signals: tuple[OpcUaSignalSpec, ...]
    # written by ``write()``, never sampled (downlink only: the active order, its target)
    write_signals: tuple[OpcUaSignalSpec, ...] = ()
    security: OpcUaSecuritySpec = field(default_factory=OpcUaSecuritySpec)
    mode: Literal["subscribe", "poll"] = "subscribe"
    poll_ms: int = 1000
    publishing_ms: int = 100  # subscription publishing interval
    queue_size: int = 100  # per monitored item on the server, so bursts between publishes survive
    timeout_ms: int = 4000
    watchdog_ms: int = 1000  # how often the session is probed for a silent server death
    reconnect: Reconnect = field(default_factory=Reconnect)


@dataclass(frozen=True, slots=True)
class ModbusSignalSpec:
    name: str
    address: int
    table: ModbusTable = "holding"
    type: ModbusType = "uint16"
    word_order: WordOrder = "big"
    byte_swap: bool = False
    scale: float = 1.0
    offset: float = 0.0
    states: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ModbusSourceSpec:
    machine: str
    host: str
    signals: tuple[ModbusSignalSpec, ...]
    # written by ``write()``, never read (downlink only: the active order, its target)
    write_signals: tuple[ModbusSignalSpec, ...] = ()
    port: int = 502
    unit: int = 1
    poll_ms: int = 1000
    timeout_ms: int = 1000
    busy_retries: int = 3  # exception 06 (device busy) is retried this many times per request
    busy_retry_ms: int = 50
    max_gap: int = 0  # registers/bits of unused gap allowed inside one request
    reconnect: Reconnect = field(default_factory=Reconnect)


@dataclass(frozen=True, slots=True)
class MqttSignalSpec:
    name: str
    field: str  # dotted JSON path ("counters.total"); for Sparkplug B the metric name
    scale: float = 1.0
    offset: float = 0.0
    states: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class MqttSourceSpec:
    machine: str  # used when machine_level is None
    url: str  # mqtt://host:1883 or mqtts://host:8883
    topic: str  # filter, wildcards allowed
    signals: tuple[MqttSignalSpec, ...]
    machine_level: int | None = None  # topic level (0-based) holding the machine id
    format: Literal["json", "sparkplug"] = "json"
    qos: Literal[0, 1] = 1
    # "3.1.1" for brokers without MQTT 5 (amqtt, the demo's embedded broker; old appliances)
    mqtt_version: MqttVersion = "5"
    client_id: str | None = None  # None: a stable id derived from machine, url and topic
    username: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_certs: str | None = None
    timestamp_field: str | None = None  # epoch ms or ISO 8601; else receive time
    max_payload_bytes: int = 256 * 1024
    receive_maximum: int = 1000  # unacknowledged QoS 1 messages the broker may send us (MQTT 5)
    session_expiry_s: int = 7 * 24 * 3600  # MQTT 5; a 3.1.1 broker keeps the session its own way
    keepalive_s: int = 30
    buffer_messages: int = 20_000  # bridge buffer; paho's thread waits when it is full
    linger_ms: int = 5  # messages gather this long into one batch (latency vs. CPU per message)
    reconnect: Reconnect = field(default_factory=Reconnect)


@dataclass(frozen=True, slots=True)
class MemorySourceSpec:
    """An in-memory source for tests: samples are pushed with ``MemoryConnector.push``."""

    machine: str
    signals: tuple[str, ...] = ()


SourceSpec = OpcUaSourceSpec | ModbusSourceSpec | MqttSourceSpec | MemorySourceSpec
