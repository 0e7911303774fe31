"""How a simulated machine shows itself on the wire: OPC UA nodes, Modbus registers, MQTT topic.

Plain frozen data; the scenario file (pydantic) is parsed into these. The defaults reproduce the
demo plant of INTERFACES.md so tests can build a machine without a scenario file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
RegisterType = Literal["uint16", "int16", "uint32", "int32", "float32"]
Table = Literal["holding", "input"]
MqttFormat = Literal["json", "sparkplug"]

#: Simulator states -> numeric state code on the wire (INTERFACES.md demo codes). A micro-stop
#: shows as running: PLCs rarely flag them, which is what makes them a hidden loss.
DEFAULT_STATE_CODES: Mapping[str, int] = {
    "running": 1,
    "micro_stop": 1,
    "stopped": 2,
    "fault": 3,
    "setup": 4,
    "idle": 5,
}

#: Simulator states -> the gateway's canonical state codes (unknown 0, running 1, idle 2,
#: stopped 3, fault 4, setup 5, planned_stop 6, offline 7): what a gateway stores after mapping
#: the wire code, hence what a recorded trace holds. Kept here, not imported: simulators are an
#: independent peer of the gateway.
CANONICAL_STATE_CODES: Mapping[str, int] = {
    "running": 1,
    "micro_stop": 1,
    "idle": 2,
    "stopped": 3,
    "fault": 4,
    "setup": 5,
}

#: Simulator states -> JSON ``status`` text of the MQTT machines.
DEFAULT_STATUS_TEXT: Mapping[str, str] = {
    "running": "RUN",
    "micro_stop": "RUN",
    "stopped": "STOP",
    "fault": "ALARM",
    "setup": "SETUP",
    "idle": "IDLE",
}

#: OPC 40001-1 MachineryItemState: NotAvailable 0, OutOfService 1, NotExecuting 2, Executing 3.
MACHINERY_ITEM_STATE: Mapping[str, int] = {
    "running": 3,
    "micro_stop": 3,
    "stopped": 2,
    "fault": 1,
    "setup": 2,
    "idle": 2,
}

#: OPC 40001-1 MachineryOperationMode: None 0, Maintenance 1, Setup 2, Processing 3.
MACHINERY_OPERATION_MODE: Mapping[str, int] = {
    "running": 3,
    "micro_stop": 3,
    "stopped": 3,
    "fault": 1,
    "setup": 2,
    "idle": 0,
}

REGISTER_WORDS: Mapping[str, int] = {
    "uint16": 1,
    "int16": 1,
    "uint32": 2,
    "int32": 2,
    "float32": 2,
}


@dataclass(frozen=True)
class Register:
    address: int
    type: RegisterType = "uint16"
    word_order: WordOrder = "ABCD"
    table: Table = "holding"

    @property
    def words(self) -> int:
        return REGISTER_WORDS[self.type]


def _demo_registers() -> dict[str, Register]:
    return {
        "count": Register(0, "uint32"),
        "reject": Register(2, "uint16"),
        "state": Register(3, "uint16"),
        "order": Register(10, "uint32"),
        "target": Register(12, "uint32"),
    }


@dataclass(frozen=True)
class ModbusLayout:
    """Register map. Names: count, reject, good, state, order, target (writable), cycle_s."""

    unit: int = 1
    registers: Mapping[str, Register] = field(default_factory=_demo_registers)
    state_codes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STATE_CODES))
    #: How the numeric order register becomes an order name, and back (digits of the name).
    order_format: str = "{}"


@dataclass(frozen=True)
class OpcUaLayout:
    """Nodes ``ns=<idx>;s=<prefix>.<Name>`` in a folder named after the machine."""

    prefix: str
    state_codes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STATE_CODES))


@dataclass(frozen=True)
class MqttLayout:
    """JSON telemetry topic, or the Sparkplug B device name."""

    topic: str
    format: MqttFormat = "json"
    period_s: float = 5.0
    status_text: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_TEXT))
    state_codes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STATE_CODES))
    device: str | None = None


Layout = OpcUaLayout | ModbusLayout | MqttLayout


def default_prefix(machine_id: str) -> str:
    """``press-01`` -> ``Press01`` (the demo's node naming)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", machine_id) if part)


def order_number(order: str | None) -> int:
    """Numeric part of a work-order name (last run of digits), 0 without an order."""
    if not order:
        return 0
    digits = re.findall(r"\d+", order)
    return int(digits[-1]) if digits else 0
