"""Create/Update/Read models of master data: items (BOM, routing, specs), customers, sales
orders, machines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from central.contract import PriorityClass
from central.models.work_orders import Code

Name = Annotated[str, Field(min_length=1, max_length=200)]
PositiveQty = Annotated[float, Field(gt=0, le=1e12)]
Limit = Annotated[float, Field(ge=-1e15, le=1e15)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class BomLineIn(_In):
    component: Code
    qty_per: PositiveQty
    uom: Annotated[str, Field(max_length=20)] | None = None
    backflush: bool = False


class BomLineRead(_Out):
    component: str
    qty_per: float
    uom: str | None
    backflush: bool


class RoutingOpIn(_In):
    op_no: Annotated[int, Field(ge=0, le=100_000)] = 10
    machine: Code
    ideal_cycle_s: Annotated[float, Field(gt=0, le=1e7)]
    setup_s: Annotated[float, Field(ge=0, le=1e7)] = 0.0


class RoutingOpRead(_Out):
    op_no: int
    machine: str
    ideal_cycle_s: float
    setup_s: float


class SpecIn(_In):
    characteristic: Name
    lsl: Limit | None = None
    usl: Limit | None = None
    unit: Annotated[str, Field(max_length=20)] | None = None

    @model_validator(mode="after")
    def _limits(self) -> SpecIn:
        if self.lsl is not None and self.usl is not None and self.lsl > self.usl:
            raise ValueError(f"lsl {self.lsl} is above usl {self.usl}")
        return self


class SpecRead(_Out):
    item: str
    customer: str | None
    characteristic: str
    lsl: float | None
    usl: float | None
    unit: str | None


ItemKind = Literal["finished", "component", "raw"]


class ItemCreate(_In):
    code: Code
    name: Name
    uom: Annotated[str, Field(min_length=1, max_length=20)] = "pcs"
    kind: ItemKind = "finished"
    lead_time_days: Annotated[int, Field(ge=0, le=3650)] = 0
    safety_stock: Annotated[float, Field(ge=0, le=1e12)] = 0.0
    bom: list[BomLineIn] = Field(default_factory=list, max_length=500)
    routing: list[RoutingOpIn] = Field(default_factory=list, max_length=100)
    specs: list[SpecIn] = Field(default_factory=list, max_length=200)


class ItemUpdate(_In):
    """Absent fields are kept; a given list (bom, routing, specs) replaces the old one."""

    name: Name | None = None
    uom: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    kind: ItemKind | None = None
    lead_time_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    safety_stock: Annotated[float, Field(ge=0, le=1e12)] | None = None
    bom: list[BomLineIn] | None = Field(default=None, max_length=500)
    routing: list[RoutingOpIn] | None = Field(default=None, max_length=100)
    specs: list[SpecIn] | None = Field(default=None, max_length=200)


class ItemRead(_Out):
    code: str
    name: str
    uom: str
    kind: str
    lead_time_days: int
    safety_stock: float
    bom: list[BomLineRead] = []
    routing: list[RoutingOpRead] = []
    specs: list[SpecRead] = []


class CustomerCreate(_In):
    code: Code
    name: Name
    priority_class: PriorityClass = "B"
    specs: dict[Code, list[SpecIn]] = Field(default_factory=dict, max_length=200)  # item → limits


class CustomerUpdate(_In):
    name: Name | None = None
    priority_class: PriorityClass | None = None


class CustomerRead(_Out):
    code: str
    name: str
    priority_class: PriorityClass


class SalesOrderCreate(_In):
    number: Code
    customer: Code
    item: Code
    qty: PositiveQty
    requested_date: AwareDatetime
    promised_date: AwareDatetime | None = None
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    quality: list[SpecIn] = Field(default_factory=list, max_length=200)  # customer's limits

    @model_validator(mode="after")
    def _window(self) -> SalesOrderCreate:
        if self.window_start and self.window_end and self.window_start > self.window_end:
            raise ValueError("window_start is after window_end")
        return self


class SalesOrderRead(_Out):
    number: str
    customer: str
    item: str
    qty: float
    requested_date: datetime
    promised_date: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    status: str
    eta: datetime | None
    created_at: datetime


class MachineCreate(_In):
    id: Code
    edge_id: Code | None = None
    name: Name | None = None
    line: Name | None = None
    ideal_cycle_s: Annotated[float, Field(gt=0, le=1e7)] | None = None


class MachineRead(_Out):
    id: str
    edge_id: str | None
    name: str | None
    line: str | None
    protocol: str | None
    ideal_cycle_s: float | None
    announced_at: datetime | None
