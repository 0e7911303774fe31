"""Work orders: create, list, change with optimistic concurrency, state transitions.

Every write is one conditional ``UPDATE … WHERE revision = :seen`` so two writers can never
both win, on PostgreSQL or SQLite, without holding a lock between read and write; a write that
matches no row is re-read to tell a stale revision (412) from a broken rule (409).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.tables import Customer, Item, Machine, RoutingOperation, SalesOrder, WorkOrder
from central.errors import Conflict, Invalid, NotFound, PreconditionFailed
from central.lifecycle import Action, check_update, transition
from central.models.work_orders import WorkOrderCreate, WorkOrderUpdate
from central.services.versions import bump_for_machines


@dataclass(frozen=True, slots=True)
class WorkOrderFilter:
    status: Sequence[str] = ()
    machine: str | None = None
    item: str | None = None
    customer: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    limit: int = 100
    offset: int = 0


def get_work_order(*, session: Session, number: str) -> WorkOrder:
    row = session.get(WorkOrder, number, populate_existing=True)  # fresh after our own UPDATEs
    if row is None:
        raise NotFound(f"work order {number!r} not found")
    return row


def list_work_orders(*, session: Session, where: WorkOrderFilter) -> Sequence[WorkOrder]:
    query = select(WorkOrder)
    if where.status:
        query = query.where(WorkOrder.status.in_(where.status))
    for column, value in (
        (WorkOrder.machine, where.machine),
        (WorkOrder.item, where.item),
        (WorkOrder.customer, where.customer),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.due_before is not None:
        query = query.where(WorkOrder.due < where.due_before)
    if where.due_after is not None:
        query = query.where(WorkOrder.due >= where.due_after)
    query = query.order_by(WorkOrder.number).limit(where.limit).offset(where.offset)
    return session.scalars(query).all()


def _require(session: Session, model: type[Any], key: str | None, what: str) -> Any:
    if key is None:
        return None
    row = session.get(model, key)
    if row is None:
        raise Invalid(f"{what} {key!r} does not exist")
    return row


def _next_number(session: Session) -> str:
    count = session.scalar(select(func.count()).select_from(WorkOrder)) or 0
    for n in range(count + 1, count + 1000):
        number = f"WO-{n:06d}"
        if session.get(WorkOrder, number) is None:
            return number
    raise Conflict("could not allocate a work-order number; give one explicitly")


def _default_machine(session: Session, item: str) -> str | None:
    query = select(RoutingOperation.machine).where(RoutingOperation.item == item)
    return session.scalars(query.order_by(RoutingOperation.op_no).limit(1)).first()


def create_work_order(*, session: Session, data: WorkOrderCreate, now: datetime) -> WorkOrder:
    _require(session, Item, data.item, "item")
    machine = data.machine or _default_machine(session, data.item)
    _require(session, Machine, machine, "machine")
    so: SalesOrder | None = _require(session, SalesOrder, data.sales_order, "sales order")
    customer = data.customer or (so.customer if so else None)
    _require(session, Customer, customer, "customer")
    due = data.due or (so.promised_date or so.requested_date if so else None)
    number = data.number or _next_number(session)
    row = WorkOrder(
        number=number,
        item=data.item,
        qty=data.qty,
        machine=machine,
        status="draft",
        due=due,
        priority=data.priority,
        expedite=data.expedite,
        sales_order=data.sales_order,
        customer=customer,
        revision=1,
        qty_good=0.0,
        qty_scrap=0.0,
        closed_short=False,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"work order {number!r} already exists") from exc
    bump_for_machines(session, [machine])
    session.commit()
    return row


def update_work_order(
    *, session: Session, number: str, revision: int, data: WorkOrderUpdate
) -> WorkOrder:
    row = get_work_order(session=session, number=number)
    changes = data.model_dump(exclude_unset=True)
    if row.revision != revision:
        raise PreconditionFailed(
            f"work order {number} is at revision {row.revision}, not {revision}"
        )
    if changes.get("machine") is not None:
        _require(session, Machine, changes["machine"], "machine")
    check_update(row.status, changes, new_qty=changes.get("qty"), qty_good=row.qty_good)
    old_machine = row.machine
    stmt = (
        update(WorkOrder)
        .where(WorkOrder.number == number, WorkOrder.revision == revision)
        .where(WorkOrder.status == row.status)
        .values(**changes, revision=WorkOrder.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if "qty" in changes:  # the floor may have made more parts since we read the row
        stmt = stmt.where(WorkOrder.qty_good <= changes["qty"])
    # edges before work orders: the lock order of ingest, so the two never deadlock
    bump_for_machines(session, [old_machine, changes.get("machine")])
    _apply(session, stmt, number, revision)
    session.commit()
    return get_work_order(session=session, number=number)


def _apply(session: Session, stmt: Any, number: str, revision: int) -> None:
    if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
        return
    session.rollback()
    current = get_work_order(session=session, number=number)
    if current.revision != revision:
        raise PreconditionFailed(
            f"work order {number} changed meanwhile (revision {current.revision}, not {revision})"
        )
    raise Conflict(f"work order {number} changed meanwhile; read it again")


_STAMP = {
    "released": "released_at",
    "in_progress": "started_at",
    "completed": "completed_at",
    "closed": "closed_at",
}


def transition_work_order(
    *, session: Session, number: str, action: Action, revision: int | None, now: datetime
) -> WorkOrder:
    """Apply ``action``; with ``revision`` (If-Match) the order must still be at it (412)."""
    row = get_work_order(session=session, number=number)
    if revision is not None and row.revision != revision:
        raise PreconditionFailed(
            f"work order {number} is at revision {row.revision}, not {revision}"
        )
    step = transition(row.status, action)
    values: dict[str, Any] = {"status": step.after.value, "revision": WorkOrder.revision + 1}
    stamp = _STAMP.get(step.after.value)
    if stamp is not None and getattr(row, stamp) is None:
        values[stamp] = now
    if step.closed_short:
        values["closed_short"] = True
    stmt = (
        update(WorkOrder)
        .where(WorkOrder.number == number, WorkOrder.revision == row.revision)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    bump_for_machines(session, [row.machine])  # edges first: ingest's lock order
    _apply(session, stmt, number, row.revision)
    session.commit()
    return get_work_order(session=session, number=number)


def utcnow() -> datetime:
    return datetime.now(UTC)
