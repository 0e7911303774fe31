"""Master data: items with their BOM, routing and specs; customers; sales orders; machines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.tables import (
    BomLine,
    Customer,
    Edge,
    Item,
    Machine,
    QualitySpec,
    RoutingOperation,
    SalesOrder,
)
from central.errors import Conflict, Invalid, NotFound
from central.models.catalog import (
    BomLineIn,
    CustomerCreate,
    CustomerUpdate,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    MachineCreate,
    RoutingOpIn,
    SalesOrderCreate,
    SpecIn,
)
from central.services.versions import bump_all


def _get(session: Session, model: type[Any], key: str, what: str) -> Any:
    row = session.get(model, key, populate_existing=True)
    if row is None:
        raise NotFound(f"{what} {key!r} not found")
    return row


def _exists(session: Session, model: type[Any], keys: set[str], what: str) -> None:
    for key in sorted(keys):
        if session.get(model, key) is None:
            raise Invalid(f"{what} {key!r} does not exist")


def _add_new(session: Session, row: Any, what: str) -> None:
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"{what} already exists") from exc


# ---------------------------------------------------------------- items


def _set_bom(session: Session, code: str, lines: list[BomLineIn]) -> None:
    comps = [line.component for line in lines]
    if len(set(comps)) != len(comps):
        raise Invalid(f"bom of {code!r} names a component twice")
    if code in comps:
        raise Invalid(f"item {code!r} cannot be its own component")
    _exists(session, Item, set(comps), "component item")
    session.execute(delete(BomLine).where(BomLine.parent == code))
    session.add_all(BomLine(parent=code, **line.model_dump()) for line in lines)


def _set_routing(session: Session, code: str, ops: list[RoutingOpIn]) -> None:
    if len({op.op_no for op in ops}) != len(ops):
        raise Invalid(f"routing of {code!r} repeats an op_no")
    _exists(session, Machine, {op.machine for op in ops}, "machine")
    session.execute(delete(RoutingOperation).where(RoutingOperation.item == code))
    session.add_all(RoutingOperation(item=code, **op.model_dump()) for op in ops)


def set_specs(session: Session, item: str, customer: str | None, specs: list[SpecIn]) -> None:
    names = [s.characteristic for s in specs]
    if len(set(names)) != len(names):
        raise Invalid(f"specs of {item!r} name a characteristic twice")
    session.execute(
        delete(QualitySpec).where(QualitySpec.item == item, QualitySpec.customer == customer)
        if customer is not None
        else delete(QualitySpec).where(QualitySpec.item == item, QualitySpec.customer.is_(None))
    )
    session.add_all(QualitySpec(item=item, customer=customer, **s.model_dump()) for s in specs)


def item_read(session: Session, item: Item) -> ItemRead:
    code = item.code
    out = ItemRead.model_validate(item)
    return out.model_copy(
        update={
            "bom": session.scalars(select(BomLine).where(BomLine.parent == code)).all(),
            "routing": session.scalars(
                select(RoutingOperation)
                .where(RoutingOperation.item == code)
                .order_by(RoutingOperation.op_no)
            ).all(),
            "specs": session.scalars(select(QualitySpec).where(QualitySpec.item == code)).all(),
        }
    )


def create_item(*, session: Session, data: ItemCreate) -> Item:
    fields = data.model_dump(exclude={"bom", "routing", "specs"})
    item = Item(**fields)
    _add_new(session, item, f"item {data.code!r}")
    _set_bom(session, data.code, data.bom)
    _set_routing(session, data.code, data.routing)
    set_specs(session, data.code, None, data.specs)
    bump_all(session)
    session.commit()
    return item


def update_item(*, session: Session, code: str, data: ItemUpdate) -> Item:
    item: Item = _get(session, Item, code, "item")
    changes = data.model_dump(exclude_unset=True, exclude={"bom", "routing", "specs"})
    for key, value in changes.items():
        if value is not None:
            setattr(item, key, value)
    if data.bom is not None:
        _set_bom(session, code, data.bom)
    if data.routing is not None:
        _set_routing(session, code, data.routing)
    if data.specs is not None:
        set_specs(session, code, None, data.specs)
    bump_all(session)
    session.commit()
    return item


def get_item(*, session: Session, code: str) -> Item:
    item: Item = _get(session, Item, code, "item")
    return item


def list_items(*, session: Session, limit: int, offset: int) -> Sequence[Item]:
    return session.scalars(select(Item).order_by(Item.code).limit(limit).offset(offset)).all()


# ---------------------------------------------------------------- customers


def create_customer(*, session: Session, data: CustomerCreate) -> Customer:
    row = Customer(code=data.code, name=data.name, priority_class=data.priority_class)
    _add_new(session, row, f"customer {data.code!r}")
    _exists(session, Item, set(data.specs), "item")
    for item, specs in data.specs.items():
        set_specs(session, item, data.code, specs)
    bump_all(session)
    session.commit()
    return row


def update_customer(*, session: Session, code: str, data: CustomerUpdate) -> Customer:
    row: Customer = _get(session, Customer, code, "customer")
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(row, key, value)
    bump_all(session)  # the priority class reorders every edge's dispatch
    session.commit()
    return row


def get_customer(*, session: Session, code: str) -> Customer:
    row: Customer = _get(session, Customer, code, "customer")
    return row


def list_customers(*, session: Session, limit: int, offset: int) -> Sequence[Customer]:
    query = select(Customer).order_by(Customer.code).limit(limit).offset(offset)
    return session.scalars(query).all()


# ---------------------------------------------------------------- sales orders


def create_sales_order(*, session: Session, data: SalesOrderCreate, now: datetime) -> SalesOrder:
    _exists(session, Customer, {data.customer}, "customer")
    _exists(session, Item, {data.item}, "item")
    row = SalesOrder(
        **data.model_dump(exclude={"quality"}), status="open", eta=None, created_at=now
    )
    _add_new(session, row, f"sales order {data.number!r}")
    if data.quality:  # the customer's limits for this item, from now on
        set_specs(session, data.item, data.customer, data.quality)
        bump_all(session)
    session.commit()
    return row


def get_sales_order(*, session: Session, number: str) -> SalesOrder:
    row: SalesOrder = _get(session, SalesOrder, number, "sales order")
    return row


def list_sales_orders(
    *, session: Session, customer: str | None, limit: int, offset: int
) -> Sequence[SalesOrder]:
    query = select(SalesOrder)
    if customer is not None:
        query = query.where(SalesOrder.customer == customer)
    query = query.order_by(SalesOrder.number).limit(limit).offset(offset)
    return session.scalars(query).all()


# ---------------------------------------------------------------- machines


def create_machine(*, session: Session, data: MachineCreate) -> Machine:
    """Declare a machine before its edge announces it (so orders can be planned on it)."""
    if data.edge_id is not None:
        _exists(session, Edge, {data.edge_id}, "edge")
    row = Machine(**data.model_dump(), protocol=None, announced_at=None)
    _add_new(session, row, f"machine {data.id!r}")
    session.commit()
    return row


def get_machine(*, session: Session, machine_id: str) -> Machine:
    row: Machine = _get(session, Machine, machine_id, "machine")
    return row


def list_machines(*, session: Session) -> Sequence[Machine]:
    return session.scalars(select(Machine).order_by(Machine.id)).all()
