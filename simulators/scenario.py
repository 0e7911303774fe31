"""Scenario files (YAML): machines, their behaviour and wire layout, protocol servers, seed.

``load_scenario(path)`` validates with pydantic and raises ``ScenarioError`` naming the YAML
path of every problem (``machines[1].source.registers.count.type: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulators.errors import ScenarioError
from simulators.layout import (
    DEFAULT_STATE_CODES,
    DEFAULT_STATUS_TEXT,
    Layout,
    ModbusLayout,
    MqttFormat,
    MqttLayout,
    OpcUaLayout,
    Register,
    RegisterType,
    Table,
    WordOrder,
    default_prefix,
)
from simulators.machine import Behaviour, MachineModel, MachineSpec, ScriptedEvent, State


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BehaviourModel(_Model):
    jitter: float = Field(default=0.03, ge=0, le=1)
    reject_rate: float = Field(default=0.0, ge=0, le=1)
    micro_stops_per_h: float = Field(default=0.0, ge=0)
    micro_stop_s: tuple[float, float] = (5.0, 60.0)
    stops_per_h: float = Field(default=0.0, ge=0)
    stop_s: tuple[float, float] = (300.0, 1200.0)
    mtbf_s: float | None = Field(default=None, gt=0)
    mttr_s: float = Field(default=600.0, ge=0)
    slow_periods_per_h: float = Field(default=0.0, ge=0)
    slow_s: tuple[float, float] = (60.0, 600.0)
    slow_factor: float = Field(default=1.5, ge=1)
    setup_s: float = Field(default=120.0, ge=0)
    speed: float = Field(default=1.0, gt=0)


class EventModel(_Model):
    at_s: float = Field(ge=0)
    state: State | None = None
    duration_s: float | None = Field(default=None, gt=0)
    order: str | None = None
    target: int | None = Field(default=None, ge=0)


class RegisterModel(_Model):
    address: int = Field(ge=0, le=65535)
    type: RegisterType = "uint16"
    word_order: WordOrder = "ABCD"
    table: Table = "holding"


class OpcUaSourceModel(_Model):
    protocol: Literal["opcua"]
    prefix: str | None = None
    state_codes: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_STATE_CODES))


class ModbusSourceModel(_Model):
    protocol: Literal["modbus"]
    unit: int = Field(default=1, ge=0, le=247)
    registers: dict[str, RegisterModel] = Field(
        default_factory=lambda: {
            "count": RegisterModel(address=0, type="uint32"),
            "reject": RegisterModel(address=2),
            "state": RegisterModel(address=3),
            "order": RegisterModel(address=10, type="uint32"),
            "target": RegisterModel(address=12, type="uint32"),
        }
    )
    state_codes: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_STATE_CODES))
    order_format: str = "{}"

    @field_validator("registers")
    @classmethod
    def _known_names(cls, value: dict[str, RegisterModel]) -> dict[str, RegisterModel]:
        allowed = {"count", "reject", "good", "state", "order", "target", "cycle_s"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"unknown register name(s) {unknown}; allowed {sorted(allowed)}")
        return value


class MqttSourceModel(_Model):
    protocol: Literal["mqtt"]
    topic: str | None = None
    format: MqttFormat = "json"
    period_s: float = Field(default=5.0, gt=0)
    status_text: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_STATUS_TEXT))
    state_codes: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_STATE_CODES))
    device: str | None = None


Source = Annotated[
    OpcUaSourceModel | ModbusSourceModel | MqttSourceModel, Field(discriminator="protocol")
]


class MachineScenario(_Model):
    id: str = Field(min_length=1)
    ideal_cycle_s: float = Field(gt=0)
    behaviour: BehaviourModel = Field(default_factory=BehaviourModel)
    events: tuple[EventModel, ...] = ()
    order: str | None = None
    target: int = Field(default=0, ge=0)
    requires_order: bool = False
    counter_start: int = Field(default=0, ge=0)
    source: Source

    def to_spec(self) -> MachineSpec:
        return MachineSpec(
            id=self.id,
            ideal_cycle_s=self.ideal_cycle_s,
            behaviour=Behaviour(**self.behaviour.model_dump()),
            events=tuple(ScriptedEvent(**e.model_dump()) for e in self.events),
            order=self.order,
            target=self.target,
            requires_order=self.requires_order,
            counter_start=self.counter_start,
            source=self._layout(),
        )

    def _layout(self) -> Layout:
        src = self.source
        if isinstance(src, OpcUaSourceModel):
            return OpcUaLayout(src.prefix or default_prefix(self.id), dict(src.state_codes))
        if isinstance(src, ModbusSourceModel):
            regs = {k: Register(**r.model_dump()) for k, r in src.registers.items()}
            return ModbusLayout(src.unit, regs, dict(src.state_codes), src.order_format)
        return MqttLayout(
            topic=src.topic or f"plant/{self.id}/telemetry",
            format=src.format,
            period_s=src.period_s,
            status_text=dict(src.status_text),
            state_codes=dict(src.state_codes),
            device=src.device,
        )


class OpcUaServerModel(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=4840, ge=0, le=65535)
    namespace: str = "urn:atelier:simulators"
    security: Literal["None", "Basic256Sha256", "all"] = "None"
    cert_dir: Path = Path("data/sim-certs")
    user: str | None = None
    password_env: str | None = None
    tick_s: float = Field(default=0.1, gt=0)


class ModbusFaultsModel(_Model):
    busy_share: float = Field(default=0.0, ge=0, le=1)
    drop_share: float = Field(default=0.0, ge=0, le=1)


class ModbusServerModel(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=5020, ge=0, le=65535)
    faults: ModbusFaultsModel = Field(default_factory=ModbusFaultsModel)


class MqttFaultsModel(_Model):
    malformed_share: float = Field(default=0.0, ge=0, le=1)
    wrong_type_share: float = Field(default=0.0, ge=0, le=1)
    oversized_share: float = Field(default=0.0, ge=0, le=1)


class MqttServerModel(_Model):
    url: str = "mqtt://127.0.0.1:1883"
    qos: Literal[0, 1] = 1
    client_id: str | None = None
    username: str | None = None
    password_env: str | None = None
    tls: bool = False
    group: str = "atelier"
    node: str = "sim-node"
    tick_s: float = Field(default=0.1, gt=0)
    faults: MqttFaultsModel = Field(default_factory=MqttFaultsModel)


class ServersModel(_Model):
    opcua: OpcUaServerModel = Field(default_factory=OpcUaServerModel)
    modbus: ModbusServerModel = Field(default_factory=ModbusServerModel)
    mqtt: MqttServerModel = Field(default_factory=MqttServerModel)


class Scenario(_Model):
    name: str = "scenario"
    seed: int = 0
    start: datetime = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    servers: ServersModel = Field(default_factory=ServersModel)
    machines: tuple[MachineScenario, ...] = Field(min_length=1)

    @field_validator("machines")
    @classmethod
    def _unique_ids(cls, value: tuple[MachineScenario, ...]) -> tuple[MachineScenario, ...]:
        seen: set[str] = set()
        for m in value:
            if m.id in seen:
                raise ValueError(f"duplicate machine id {m.id!r}")
            seen.add(m.id)
        return value

    def models(self, start_ns: int | None = None) -> list[MachineModel]:
        """One fresh model per machine, all seeded from ``seed``."""
        return [MachineModel(m.to_spec(), self.seed, start_ns=start_ns) for m in self.machines]

    def machine(self, machine_id: str) -> MachineScenario:
        for m in self.machines:
            if m.id == machine_id:
                return m
        raise KeyError(machine_id)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("opcua", "modbus", "mqtt") and out.endswith("source"):
            continue  # the discriminator tag pydantic adds is not a YAML key
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def parse_scenario(data: Mapping[str, Any], *, source: str = "<memory>") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        issues = [(_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise ScenarioError(source, issues) from exc


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(str(p), [("<file>", str(exc))]) from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(str(p), [("<yaml>", str(exc))]) from exc
    if not isinstance(data, Mapping):
        raise ScenarioError(str(p), [("<root>", "expected a mapping")])
    return parse_scenario(data, source=str(p))
