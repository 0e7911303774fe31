"""Wire contract between edge and central: the only central module the edge imports.

Pydantic models of the JSON exchanged over HTTP, and nothing else (no FastAPI, no database).

Uplink (edge → central), ``POST /api/v1/edges/{edge_id}/records`` with a :class:`RecordBatch`;
the reply is an :class:`AckReply`. Every record carries a ``seq`` that the edge assigns from its
outbox: unique per edge, strictly increasing, starting at 1, never reused. Central stores each
record once under ``(edge_id, seq)`` and applies it in the same transaction, so a replay is a
no-op and the edge can resend anything not yet acknowledged.

Production counts travel as **per-period deltas** (``good``/``scrap`` made between
``period_start`` and ``period_end``), not as cumulative counters. Because a seq is applied at
most once, deltas add up exactly; they commute, so out-of-order arrival is harmless; and they
survive PLC counter resets and work-order changes that a cumulative counter would have to
reconcile on the central side. The edge already turns raw counters into deltas (rollover and
reset handling live in its analytics).

Downlink (central → edge), ``GET /api/v1/edges/{edge_id}/dispatch?since=V&wait=S``: a
:class:`Dispatch` with a per-edge ``version``; ``304`` when ``since`` is still current after
up to ``wait`` seconds of long-poll.

Units: times are timezone-aware UTC datetimes (ISO 8601 on the wire), durations in seconds
(``_s``), quantities in the item's unit of measure (``uom``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

API_VERSION = "1"
"""Major version of this contract; sent by the edge in its hello record."""

MAX_BATCH_RECORDS = 5000
"""Largest number of records accepted in one batch (a bigger batch gets 413/422)."""

MAX_WAIT_S = 25.0
"""Longest long-poll central holds a dispatch request."""

RecordKind = Literal["hello", "production", "consumption", "stop", "quality", "oee", "declaration"]
WorkOrderStatus = Literal[
    "draft", "released", "in_progress", "paused", "completed", "closed", "cancelled"
]
PriorityClass = Literal["A", "B", "C"]

Name = Annotated[str, Field(min_length=1, max_length=100)]
NonNegative = Annotated[float, Field(ge=0)]
Ratio = Annotated[float, Field(ge=0)]  # A and P can exceed 1 with a wrong ideal cycle: keep them


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- record bodies


class MachineInfo(_Model):
    id: Name
    ideal_cycle_s: Annotated[float, Field(gt=0)] | None = None
    protocol: str | None = None
    name: str | None = None


class HelloBody(_Model):
    """Edge and machine inventory, sent at start-up and whenever the config changes."""

    api_version: str = API_VERSION
    software_version: str | None = None
    timezone: str | None = None
    machines: list[MachineInfo] = Field(default_factory=list, max_length=1000)


class ProductionBody(_Model):
    """Parts made on a machine for a work order during one period (a delta, see module doc)."""

    work_order: Name | None = None  # None: produced with no active order (counted, not booked)
    machine: Name
    good: Annotated[int, Field(ge=0)]
    scrap: Annotated[int, Field(ge=0)] = 0
    period_start: AwareDatetime
    period_end: AwareDatetime
    lot: str | None = None  # finished-goods lot; default: the work-order number


class ConsumptionBody(_Model):
    """Component lot consumed by a work order (lot genealogy: which lots went into which order)."""

    work_order: Name
    item: Name
    lot: str | None = None
    qty: Annotated[float, Field(gt=0)]
    uom: str | None = None
    machine: str | None = None


class StopBody(_Model):
    """A stop on a machine; sent when it opens (``end`` None) and again when it closes."""

    machine: Name
    start: AwareDatetime
    end: AwareDatetime | None = None
    reason: str | None = None
    category: Literal["unplanned", "planned", "setup", "fault", "micro"] = "unplanned"
    work_order: str | None = None


class QualityBody(_Model):
    """One measurement of a characteristic, with the edge's verdict if it judged it."""

    characteristic: Name
    value: float
    unit: str | None = None
    verdict: Literal["ok", "nok"] | None = None
    machine: str | None = None
    work_order: str | None = None


class OeeBody(_Model):
    """OEE of a machine over one window (same keys as ``atelier-edge analyze --json``)."""

    machine: Name
    window_start: AwareDatetime
    window_end: AwareDatetime
    shift: str | None = None
    work_order: str | None = None
    planned_s: NonNegative
    run_s: NonNegative
    stop_s: NonNegative = 0.0
    micro_stops: Annotated[int, Field(ge=0)] = 0
    micro_stop_s: NonNegative = 0.0
    total: Annotated[int, Field(ge=0)]
    good: Annotated[int, Field(ge=0)]
    reject: Annotated[int, Field(ge=0)] = 0
    availability: Ratio | None = None
    performance: Ratio | None = None
    quality: Ratio | None = None
    oee: Ratio | None = None


class DeclarationBody(_Model):
    """An operator action on the tablet that central must know about."""

    machine: Name
    action: Literal[
        "start_order",
        "pause_order",
        "resume_order",
        "complete_order",
        "stop_reason",
        "scrap",
        "note",
    ]
    work_order: str | None = None
    reason: str | None = None
    qty: Annotated[float, Field(ge=0)] | None = None
    operator: str | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


RecordBody = (
    HelloBody
    | ProductionBody
    | ConsumptionBody
    | StopBody
    | QualityBody
    | OeeBody
    | DeclarationBody
)

BODY_MODELS: dict[str, type[_Model]] = {
    "hello": HelloBody,
    "production": ProductionBody,
    "consumption": ConsumptionBody,
    "stop": StopBody,
    "quality": QualityBody,
    "oee": OeeBody,
    "declaration": DeclarationBody,
}


class _RecordFields(_Model):
    seq: Annotated[int, Field(ge=1, le=2**62)]
    ts: AwareDatetime


class Record(_RecordFields):
    """One outbox entry. ``body`` is validated as the model that ``kind`` names.

    Build it with a body model or a plain dict:
    ``Record(seq=7, kind="production", ts=now, body=ProductionBody(...))``.
    """

    kind: RecordKind
    body: RecordBody

    @model_validator(mode="before")
    @classmethod
    def _body_by_kind(cls, data: Any) -> Any:
        # The discriminator lives on the record, not on the body, so pick the body model here;
        # the union then only has to recognise an instance (no second parse).
        if isinstance(data, dict):
            model = BODY_MODELS.get(data.get("kind"))  # type: ignore[arg-type]
            body = data.get("body")
            if model is not None and not isinstance(body, model):
                if isinstance(body, BaseModel):
                    got, need = type(body).__name__, model.__name__
                    raise ValueError(f"body is a {got}, kind {data['kind']!r} needs {need}")
                return {**data, "body": model.model_validate(body)}
        return data


class RecordBatch(_Model):
    """What the edge posts. Central parses the same JSON as :class:`TypedRecordBatch`."""

    records: Annotated[list[Record], Field(min_length=1, max_length=MAX_BATCH_RECORDS)]


# Per-kind records: a tagged union on ``kind`` that pydantic-core parses without calling back
# into Python (about 3x faster than ``Record``'s validator), used by central on the hot path.
class HelloRecord(_RecordFields):
    kind: Literal["hello"]
    body: HelloBody


class ProductionRecord(_RecordFields):
    kind: Literal["production"]
    body: ProductionBody


class ConsumptionRecord(_RecordFields):
    kind: Literal["consumption"]
    body: ConsumptionBody


class StopRecord(_RecordFields):
    kind: Literal["stop"]
    body: StopBody


class QualityRecord(_RecordFields):
    kind: Literal["quality"]
    body: QualityBody


class OeeRecord(_RecordFields):
    kind: Literal["oee"]
    body: OeeBody


class DeclarationRecord(_RecordFields):
    kind: Literal["declaration"]
    body: DeclarationBody


TypedRecord = Annotated[
    HelloRecord
    | ProductionRecord
    | ConsumptionRecord
    | StopRecord
    | QualityRecord
    | OeeRecord
    | DeclarationRecord,
    Field(discriminator="kind"),
]


class TypedRecordBatch(_Model):
    """Same JSON as :class:`RecordBatch`; each record parsed as its per-kind class."""

    records: Annotated[list[TypedRecord], Field(min_length=1, max_length=MAX_BATCH_RECORDS)]


class AckReply(_Model):
    """``acked_through``: highest seq such that every seq ≤ it is stored (0 when none)."""

    acked_through: Annotated[int, Field(ge=0)]
    accepted: Annotated[int, Field(ge=0)] = 0  # records newly stored by this request
    duplicates: Annotated[int, Field(ge=0)] = 0  # records already stored (replays)


# ---------------------------------------------------------------- dispatch


class BomLine(_Model):
    item: str
    qty_per: float
    uom: str | None = None
    backflush: bool = False


class QualitySpec(_Model):
    item: str
    characteristic: str
    lsl: float | None = None
    usl: float | None = None
    unit: str | None = None
    customer: str | None = None  # None: the item's own spec; else that customer's limits


class DispatchWorkOrder(_Model):
    number: str
    item: str
    qty: float
    machine: str | None
    status: WorkOrderStatus
    due: datetime | None
    priority: int
    customer: str | None = None
    customer_priority_class: PriorityClass | None = None
    expedite: bool = False
    rank: int  # 1 = run next on this machine
    target: int  # parts the machine should count for this order (qty, as an int)
    revision: int
    eta: datetime | None = None
    bom: list[BomLine] = Field(default_factory=list)
    quality_specs: list[QualitySpec] = Field(default_factory=list)


class CustomerPriority(_Model):
    customer: str
    priority_class: PriorityClass


class Dispatch(_Model):
    version: int
    generated_at: datetime
    edge_id: str
    api_version: str = API_VERSION
    work_orders: list[DispatchWorkOrder] = Field(default_factory=list)
    priorities: list[CustomerPriority] = Field(default_factory=list)
    specs: list[QualitySpec] = Field(default_factory=list)
