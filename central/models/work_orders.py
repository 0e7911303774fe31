"""Work-order Create/Update/Read models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from central.contract import WorkOrderStatus

Code = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$")]
Qty = Annotated[float, Field(gt=0, le=1e12)]
# the planner's number: higher runs earlier within a customer class (central.domain.dispatch)
Priority = Annotated[int, Field(ge=-1000, le=1000)]


class WorkOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: Code | None = None  # generated (WO-000001…) when absent
    item: Code
    qty: Qty
    machine: Code | None = None  # default: the machine of the item's first routing operation
    due: AwareDatetime | None = None  # default: the sales order's promised or requested date
    priority: Priority = 0
    expedite: bool = False
    sales_order: Code | None = None
    customer: Code | None = None  # default: the sales order's customer


class WorkOrderUpdate(BaseModel):
    """Fields to change; absent fields are kept. Needs ``If-Match: "<revision>"``."""

    model_config = ConfigDict(extra="forbid")
    qty: Qty | None = None
    machine: Code | None = None
    due: AwareDatetime | None = None
    priority: Priority | None = None
    expedite: bool | None = None


class WorkOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    item: str
    qty: float
    machine: str | None
    status: WorkOrderStatus
    due: datetime | None
    priority: int
    expedite: bool
    customer: str | None
    sales_order: str | None
    qty_good: float
    qty_scrap: float
    eta: datetime | None
    revision: int
    closed_short: bool
    created_at: datetime
    released_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
