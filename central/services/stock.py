"""Stock changes made by people: goods receipts and adjustments (the edges' production and
consumption are booked by :mod:`central.services.apply`).

Each change is one stock move plus the upsert of the lot's on-hand row, in one transaction;
quantities are in the item's unit of measure (a receipt in another unit is refused, there is
no conversion table).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.tables import Item, Stock, StockMove
from central.errors import Invalid
from central.models.stock import AdjustmentCreate, ReceiptCreate, StockChange, StockMoveRead
from central.models.stock import StockRead as StockReadModel
from central.services.apply import upsert_stock
from central.services.versions import bump_all

RECEIPT = "receipt"
ADJUST = "adjust"


def receive_stock(*, session: Session, data: ReceiptCreate, now: datetime) -> StockChange:
    """Book a goods receipt into ``data.item`` / ``data.lot``."""
    return _book(session, data.item, data.lot, data.qty, data.uom, RECEIPT, data.reference, now)


def adjust_stock(*, session: Session, data: AdjustmentCreate, now: datetime) -> StockChange:
    """Book a signed correction of the lot's stock, with its reason."""
    return _book(session, data.item, data.lot, data.qty, data.uom, ADJUST, data.reason, now)


def _book(
    session: Session,
    item: str,
    lot: str,
    qty: float,
    uom: str,
    kind: str,
    note: str | None,
    now: datetime,
) -> StockChange:
    row = session.get(Item, item)
    if row is None:
        raise Invalid(f"item {item!r} does not exist")
    if uom != row.uom:
        raise Invalid(f"uom {uom!r} is not the unit of item {item!r} ({row.uom!r})")
    move = StockMove(item=item, lot=lot, qty=qty, kind=kind, note=note, ts=now)
    session.add(move)
    session.flush()
    upsert_stock(session.connection(), {(item, lot): qty}, now)
    bump_all(session)  # stock can release a held order on any edge's dispatch
    session.commit()
    stock = session.scalars(
        select(Stock)
        .where(Stock.item == item, Stock.lot == lot)
        .execution_options(populate_existing=True)
    ).one()
    return StockChange(
        move=StockMoveRead.model_validate(move), stock=StockReadModel.model_validate(stock)
    )
