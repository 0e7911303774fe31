"""``/api/v1/stock``: on-hand stock by item and lot, goods receipts (planners) and
adjustments (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from central.api.deps import Admin, Reader, SessionDep, Writer
from central.db.tables import Stock
from central.models.stock import AdjustmentCreate, ReceiptCreate, StockChange, StockRead
from central.services import stock as svc
from central.services.work_orders import utcnow

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("")
def list_stock(
    _: Reader,
    session: SessionDep,
    item: str | None = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> list[StockRead]:
    query = select(Stock)
    if item is not None:
        query = query.where(Stock.item == item)
    query = query.order_by(Stock.item, Stock.lot).limit(limit).offset(offset)
    return [StockRead.model_validate(r) for r in session.scalars(query)]


@router.post("/receipts", status_code=status.HTTP_201_CREATED)
def receive(_: Writer, session: SessionDep, data: ReceiptCreate) -> StockChange:
    """Goods received: the lot's stock rises by ``qty`` (a ``receipt`` stock move)."""
    return svc.receive_stock(session=session, data=data, now=utcnow())


@router.post("/adjustments", status_code=status.HTTP_201_CREATED)
def adjust(_: Admin, session: SessionDep, data: AdjustmentCreate) -> StockChange:
    """Correct the book stock by a signed ``qty`` with a reason (an ``adjust`` stock move)."""
    return svc.adjust_stock(session=session, data=data, now=utcnow())
