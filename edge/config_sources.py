"""Config models of the machine sources: OPC UA, Modbus TCP and MQTT, and their signals.

Re-exported by :mod:`edge.config`, which owns the rest of the edge config. Also home of the
pieces both modules share: the frozen, ``extra="forbid"`` base model and :class:`Problems`, the
exception a validator raises to report one or more issues *below* the field it validates
(``breaks[1].start``, ``states.RUN``); :mod:`edge.config_errors` turns it into YAML paths.

Messages name the bad value (``has value 'uint33'. Must be ...``); the path is added later.
Field units are in the names (``poll_ms``, ``timeout_ms``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.base import MachineState

Loc = tuple[str | int, ...]

CANONICAL_SIGNALS = ("count", "reject", "good", "cycle", "state", "order", "target")
STATE_NAMES = tuple(s.name for s in MachineState)


class Problems(ValueError):
    """Issues found by a validator, each at a path relative to the validated field or model."""

    def __init__(self, items: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(msg for _, msg in items))
        self.items = tuple(items)


class Frozen(BaseModel):
    """Base of every config model: immutable, unknown keys are errors, no NaN or infinity."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def show(value: object) -> str:
    """A value as it appears in a message: its repr, shortened."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(
            f"has value {show(value)}. Must be the name of an environment variable "
            "(letters, digits and _), e.g. ATELIER_EDGE_TOKEN"
        )
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
"""Name of the environment variable holding a secret; secrets never live in the file."""


def check_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    """``value`` if it is a URL with one of ``schemes``, a host and a valid port, else error."""
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in schemes or not parts.hostname or not port_ok:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(
            f"has value {show(value)}. Must be a URL starting with {wanted}, e.g. {example}"
        )
    return value


def raw_key(key: object) -> str:
    """A states-map key as the connectors look it up: ``1``, ``1.0``, ``"1"`` -> ``"1"``."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key).strip()


class _Signal(Frozen):
    """What every signal has: an optional state map, then ``value * scale + offset``."""

    states: dict[str, str] | None = None
    scale: float = 1.0
    offset: float = 0.0

    @field_validator("states", mode="before")
    @classmethod
    def _key_strings(cls, value: Any) -> Any:
        # YAML reads `{1: running}` with int keys; the connectors look values up as strings.
        if not isinstance(value, Mapping):
            return value
        keys: dict[str, object] = {}
        for key in value:
            if raw_key(key) in keys:
                raise ValueError(
                    f"has keys {show(keys[raw_key(key)])} and {show(key)}: the same source value"
                )
            keys[raw_key(key)] = key
        return {raw_key(k): v for k, v in value.items()}

    @field_validator("states")
    @classmethod
    def _canonical(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("is empty: map each source value to a state, e.g. {1: running}")
        problems: list[tuple[Loc, str]] = []
        mapped: dict[str, str] = {}
        for key, name in value.items():
            mapped[key] = name.strip().lower()
            if mapped[key] not in STATE_NAMES:
                problems.append(
                    ((key,), f"has value {show(name)}. Must be a state: {', '.join(STATE_NAMES)}")
                )
        if problems:
            raise Problems(problems)
        return mapped


_NODE_ID = re.compile(r"(?:ns=\d+;|nsu=[^;]+;)?(?:i=\d+|s=.+|g=[0-9A-Fa-f-]{36}|b=.+)")


class OpcUaSignal(_Signal):
    node: str

    @field_validator("node")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if not _NODE_ID.fullmatch(value):
            raise ValueError(
                f"has value {show(value)}. Must be an OPC UA node id, e.g. 'ns=2;s=Press01.Count'"
            )
        return value


ModbusType = Literal["bool", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64"]
REGISTERS: dict[str, int] = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "float64": 4,
}
BIT_TABLES = ("coil", "discrete")


class ModbusSignal(_Signal):
    """One value at ``address`` (0-based). ``bool`` is read from coils and discrete inputs only
    (one bit each); registers hold the numeric types, 1 to 4 registers wide."""

    address: int = Field(ge=0, le=65535)
    table: Literal["holding", "input", "coil", "discrete"] = "holding"
    type: ModbusType = "uint16"
    word_order: Literal["big", "little"] = "big"
    byte_swap: bool = False

    @model_validator(mode="before")
    @classmethod
    def _bool_on_bits(cls, data: Any) -> Any:
        # A coil or discrete input is one bit: that is its only sensible type, so it is the default.
        if isinstance(data, Mapping) and data.get("table") in BIT_TABLES and "type" not in data:
            return {**data, "type": "bool"}
        return data

    @model_validator(mode="after")
    def _fits(self) -> ModbusSignal:
        if self.type == "bool" and self.table not in BIT_TABLES:
            raise Problems(
                [
                    (
                        ("type",),
                        f"has value 'bool' on table {self.table!r}. bool is only read from "
                        "table coil or discrete; use a numeric type for a register",
                    )
                ]
            )
        if self.type != "bool" and self.table in BIT_TABLES:
            raise Problems(
                [
                    (
                        ("type",),
                        f"has value {self.type!r} on table {self.table!r}. A {self.table} "
                        "is one bit: use type bool",
                    )
                ]
            )
        last = self.address + REGISTERS[self.type] - 1
        if last > 65535:
            raise Problems(
                [
                    (
                        ("address",),
                        f"has value {self.address}. A {self.type} takes {REGISTERS[self.type]} "
                        f"registers, ending at {last}, past the last one (65535)",
                    )
                ]
            )
        return self


class MqttSignal(_Signal):
    """``field``: dotted path into the JSON payload (``counters.total``); Sparkplug: metric name."""

    field: str

    @field_validator("field")
    @classmethod
    def _dotted(cls, value: str) -> str:
        return dotted_path(value)


def dotted_path(value: str) -> str:
    if not re.fullmatch(r"[^.\s]+(?:\.[^.\s]+)*", value):
        raise ValueError(
            f"has value {show(value)}. Must be a dotted field path, e.g. 'counters.total'"
        )
    return value


_SIGNAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
_QUALITY_NAME = re.compile(r"quality\.[A-Za-z0-9_-]+")


def _name_problem(name: str) -> str | None:
    if name == "quality" or name.startswith("quality."):
        if _QUALITY_NAME.fullmatch(name):
            return None
        return (
            f"is not a valid signal name ({show(name)}). A measured characteristic is named "
            "quality.<name> (letters, digits, _ and -), e.g. quality.diameter"
        )
    if _SIGNAL_NAME.fullmatch(name):
        return None
    return (
        f"is not a valid signal name ({show(name)}). Use {', '.join(CANONICAL_SIGNALS)}, "
        "quality.<name> or a telemetry name (letters, digits, _ and -)"
    )


def check_signals(signals: Mapping[str, _Signal]) -> None:
    """Names are valid, ``quality.<name>`` well formed, a ``count`` or ``cycle`` exists, and
    only the ``state`` signal has a states map."""
    problems: list[tuple[Loc, str]] = []
    for name, signal in signals.items():
        message = _name_problem(name)
        if message is not None:
            problems.append(((name,), message))
        elif signal.states is not None and name != "state":
            problems.append(
                (
                    (name, "states"),
                    f"is set on signal {name!r}. A states map belongs to the state signal only",
                )
            )
    if "count" not in signals and "cycle" not in signals:
        names = ", ".join(signals) or "none"
        problems.append(
            (
                (),
                f"has signals {names}. A machine needs a 'count' (part counter) or a 'cycle' "
                "(bit whose rising edge ends a cycle) signal",
            )
        )
    if problems:
        raise Problems(problems)


class OpcUaSecurity(Frozen):
    policy: Literal["None", "Basic256Sha256"] = "None"
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None
    user: str | None = None
    password_env: EnvName | None = None

    @model_validator(mode="after")
    def _complete(self) -> OpcUaSecurity:
        problems: list[tuple[Loc, str]] = []
        if self.policy != "None":
            for key in ("certificate", "private_key"):
                if getattr(self, key) is None:
                    problems.append(((key,), f"is required with policy {self.policy}"))
        if self.password_env is not None and self.user is None:
            problems.append(((), "has password_env but no user: set the user name too"))
        if problems:
            raise Problems(problems)
        return self


class OpcUaSource(Frozen):
    protocol: Literal["opcua"]
    endpoint: str
    security: OpcUaSecurity = OpcUaSecurity()
    mode: Literal["subscribe", "poll"] = "subscribe"
    poll_ms: int = Field(default=1000, ge=10)
    signals: dict[str, OpcUaSignal]

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return check_url(value, ("opc.tcp",), "opc.tcp://127.0.0.1:4840")

    @field_validator("signals")
    @classmethod
    def _signals(cls, value: dict[str, OpcUaSignal]) -> dict[str, OpcUaSignal]:
        check_signals(value)
        return value


class ModbusSource(Frozen):
    protocol: Literal["modbus"]
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=255)
    poll_ms: int = Field(default=1000, ge=10)
    timeout_ms: int = Field(default=1000, ge=1)
    signals: dict[str, ModbusSignal]

    @field_validator("signals")
    @classmethod
    def _signals(cls, value: dict[str, ModbusSignal]) -> dict[str, ModbusSignal]:
        check_signals(value)
        return value


class MqttSource(Frozen):
    """``topic`` is a filter (``+``/``#`` allowed); ``machine_level`` (0-based) is the topic
    level holding the machine id when one filter serves several machines. ``tls`` defaults to
    true for ``mqtts://``. ``mqtt_version`` "3.1.1" is for brokers without MQTT 5 (the demo's
    embedded amqtt); YAML's bare ``5`` is accepted as "5". ``keepalive_s``: how long a silent
    connection may last before either side calls it dead (the broker allows 1.5 times that)."""

    protocol: Literal["mqtt"]
    url: str
    topic: str
    machine_level: int | None = Field(default=None, ge=0)
    format: Literal["json", "sparkplug"] = "json"
    qos: Literal[0, 1] = 1
    mqtt_version: Literal["5", "3.1.1"] = "5"
    client_id: str | None = None
    username: str | None = None
    password_env: EnvName | None = None
    tls: bool = False
    ca_certs: Path | None = None
    timestamp_field: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=65_535)
    signals: dict[str, MqttSignal]

    @model_validator(mode="before")
    @classmethod
    def _tls_from_scheme(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "tls" not in data and isinstance(data.get("url"), str):
            return {**data, "tls": data["url"].startswith("mqtts://")}
        return data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, ("mqtt", "mqtts"), "mqtt://127.0.0.1:1883")

    @field_validator("mqtt_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return "5" if value == 5 and not isinstance(value, bool) else value

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        levels = value.split("/")
        bad_hash = "#" in value and (levels[-1] != "#" or value.count("#") > 1)
        bad_plus = any("+" in level and level != "+" for level in levels)
        if not value or "\0" in value or bad_hash or bad_plus:
            raise ValueError(
                f"has value {show(value)}. Must be an MQTT topic filter: '+' and '#' stand alone "
                "in a level and '#' only at the end, e.g. 'plant/+/telemetry'"
            )
        return value

    @field_validator("timestamp_field")
    @classmethod
    def _ts_field(cls, value: str | None) -> str | None:
        return None if value is None else dotted_path(value)

    @field_validator("signals")
    @classmethod
    def _signals(cls, value: dict[str, MqttSignal]) -> dict[str, MqttSignal]:
        check_signals(value)
        return value

    @model_validator(mode="after")
    def _level_in_topic(self) -> MqttSource:
        levels = len(self.topic.split("/"))
        if self.machine_level is not None and self.machine_level >= levels:
            raise Problems(
                [
                    (
                        ("machine_level",),
                        f"has value {self.machine_level}, but topic "
                        f"{self.topic!r} has {levels} levels (0 to {levels - 1})",
                    )
                ]
            )
        return self


SourceConfig = Annotated[OpcUaSource | ModbusSource | MqttSource, Field(discriminator="protocol")]
SignalConfig = OpcUaSignal | ModbusSignal | MqttSignal
