"""Stock models: on-hand rows by item and lot, moves, goods receipts and adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from central.models.work_orders import Code

Lot = Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9._:/-]*$")]
Uom = Annotated[str, Field(min_length=1, max_length=20)]
Note = Annotated[str, Field(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ReceiptCreate(_In):
    """Goods received into stock (a purchase delivery, a transfer in), in the item's unit."""

    item: Code
    lot: Lot = ""  # "" = stock not tracked by lot
    qty: Annotated[float, Field(gt=0, le=1e12)]
    uom: Uom
    reference: Note | None = None  # delivery note, purchase order…


class AdjustmentCreate(_In):
    """A correction of the book stock after a count, scrap found in store…: signed delta."""

    item: Code
    lot: Lot = ""
    qty: Annotated[float, Field(ge=-1e12, le=1e12)]  # + into stock, - out of stock
    uom: Uom
    reason: Note

    @field_validator("qty")
    @classmethod
    def _not_zero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("an adjustment of 0 changes nothing")
        return value


class StockRead(_Out):
    item: str
    lot: str
    qty: float
    updated_at: datetime


class StockMoveRead(_Out):
    item: str
    lot: str
    qty: float
    kind: str
    work_order: str | None
    edge_id: str | None
    seq: int | None
    ts: datetime
    note: str | None = None


class StockChange(BaseModel):
    """The move booked and the lot's stock after it."""

    move: StockMoveRead
    stock: StockRead
