"""``/api/v1/items``, ``/api/v1/customers``, ``/api/v1/sales-orders``: master data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from central.api.deps import Reader, SessionDep, Writer
from central.db.tables import Customer, Item, SalesOrder
from central.models.catalog import (
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    SalesOrderCreate,
    SalesOrderRead,
)
from central.services import catalog as svc
from central.services.work_orders import utcnow

router = APIRouter()
items = APIRouter(prefix="/api/v1/items", tags=["items"])
customers = APIRouter(prefix="/api/v1/customers", tags=["customers"])
sales_orders = APIRouter(prefix="/api/v1/sales-orders", tags=["sales orders"])

Key = Annotated[str, Path(min_length=1, max_length=100)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


def item_row(code: Key, session: SessionDep) -> Item:
    return svc.get_item(session=session, code=code)


def customer_row(code: Key, session: SessionDep) -> Customer:
    return svc.get_customer(session=session, code=code)


def sales_order_row(number: Key, session: SessionDep) -> SalesOrder:
    return svc.get_sales_order(session=session, number=number)


ItemRow = Annotated[Item, Depends(item_row)]
CustomerRow = Annotated[Customer, Depends(customer_row)]
SalesOrderRow = Annotated[SalesOrder, Depends(sales_order_row)]


@items.post("", status_code=status.HTTP_201_CREATED)
def create_item(_: Writer, session: SessionDep, data: ItemCreate) -> ItemRead:
    return svc.item_read(session, svc.create_item(session=session, data=data))


@items.get("")
def list_items(
    _: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[ItemRead]:
    rows = svc.list_items(session=session, limit=limit, offset=offset)
    return [svc.item_read(session, r) for r in rows]


@items.get("/{code}")
def get_item(_: Reader, row: ItemRow, session: SessionDep) -> ItemRead:
    return svc.item_read(session, row)


@items.patch("/{code}")
def update_item(_: Writer, row: ItemRow, session: SessionDep, data: ItemUpdate) -> ItemRead:
    return svc.item_read(session, svc.update_item(session=session, code=row.code, data=data))


@customers.post("", status_code=status.HTTP_201_CREATED)
def create_customer(_: Writer, session: SessionDep, data: CustomerCreate) -> CustomerRead:
    return CustomerRead.model_validate(svc.create_customer(session=session, data=data))


@customers.get("")
def list_customers(
    _: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[CustomerRead]:
    rows = svc.list_customers(session=session, limit=limit, offset=offset)
    return [CustomerRead.model_validate(r) for r in rows]


@customers.get("/{code}")
def get_customer(_: Reader, row: CustomerRow) -> CustomerRead:
    return CustomerRead.model_validate(row)


@customers.patch("/{code}")
def update_customer(
    _: Writer, row: CustomerRow, session: SessionDep, data: CustomerUpdate
) -> CustomerRead:
    updated = svc.update_customer(session=session, code=row.code, data=data)
    return CustomerRead.model_validate(updated)


@sales_orders.post("", status_code=status.HTTP_201_CREATED)
def create_sales_order(_: Writer, session: SessionDep, data: SalesOrderCreate) -> SalesOrderRead:
    row = svc.create_sales_order(session=session, data=data, now=utcnow())
    return SalesOrderRead.model_validate(row)


@sales_orders.get("")
def list_sales_orders(
    _: Reader,
    session: SessionDep,
    customer: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[SalesOrderRead]:
    rows = svc.list_sales_orders(session=session, customer=customer, limit=limit, offset=offset)
    return [SalesOrderRead.model_validate(r) for r in rows]


@sales_orders.get("/{number}")
def get_sales_order(_: Reader, row: SalesOrderRow) -> SalesOrderRead:
    return SalesOrderRead.model_validate(row)


for _sub in (items, customers, sales_orders):
    router.include_router(_sub)
