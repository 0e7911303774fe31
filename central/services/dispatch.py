"""The dispatch an edge downloads: its machines' open work orders in run order, with BOM lines,
quality specs (item and customer limits) and customer priorities."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central import contract as c
from central.db import tables as t
from central.domain.calendar import WorkingCalendar
from central.errors import NotFound
from central.lifecycle import OPEN
from central.planning import Plan, plan


def edge_version(session: Session, edge_id: str) -> int:
    version = session.scalar(select(t.Edge.dispatch_version).where(t.Edge.id == edge_id))
    if version is None:
        raise NotFound(f"edge {edge_id!r} not found")
    return int(version)


def machine_orders(
    session: Session, machine_ids: list[str], the_plan: Plan
) -> list[c.DispatchWorkOrder]:
    """Open work orders of these machines, ranked (rank 1 runs next on its machine)."""
    if not machine_ids:
        return []
    wos = session.scalars(
        select(t.WorkOrder).where(
            t.WorkOrder.machine.in_(machine_ids), t.WorkOrder.status.in_(sorted(OPEN))
        )
    ).all()
    items = sorted({w.item for w in wos})
    customers = {w.customer for w in wos if w.customer}
    classes = dict(
        session.execute(
            select(t.Customer.code, t.Customer.priority_class).where(t.Customer.code.in_(customers))
        ).all()
    )
    bom: dict[str, list[c.BomLine]] = defaultdict(list)
    for b in session.scalars(select(t.BomLine).where(t.BomLine.parent.in_(items))):
        bom[b.parent].append(
            c.BomLine(item=b.component, qty_per=b.qty_per, uom=b.uom, backflush=b.backflush)
        )
    specs: dict[str, list[t.QualitySpec]] = defaultdict(list)
    for s in session.scalars(select(t.QualitySpec).where(t.QualitySpec.item.in_(items))):
        specs[s.item].append(s)
    out = []
    for w in wos:
        eta = the_plan.etas.get(w.number)
        out.append(
            c.DispatchWorkOrder(
                number=w.number,
                item=w.item,
                qty=w.qty,
                machine=w.machine,
                status=w.status,  # type: ignore[arg-type]
                due=w.due,
                priority=w.priority,
                customer=w.customer,
                customer_priority_class=classes.get(w.customer),  # type: ignore[arg-type]
                expedite=w.expedite,
                rank=the_plan.rank(w.number) or 0,
                target=int(w.qty),
                revision=w.revision,
                eta=eta.eta if eta else w.eta,
                bom=bom[w.item],
                quality_specs=[_spec(s) for s in specs[w.item] if s.customer in (None, w.customer)],
            )
        )
    # ranked orders first in rank order, unranked (held back) after them
    out.sort(key=lambda o: (o.machine or "", o.rank == 0, o.rank, o.number))
    return out


def _spec(s: t.QualitySpec) -> c.QualitySpec:
    return c.QualitySpec(
        item=s.item,
        characteristic=s.characteristic,
        lsl=s.lsl,
        usl=s.usl,
        unit=s.unit,
        customer=s.customer,
    )


def build_dispatch(
    *, session: Session, edge_id: str, now: datetime, calendar: WorkingCalendar | None = None
) -> c.Dispatch:
    """The edge's dispatch now; ETAs walk ``calendar`` (24/7 when None)."""
    version = edge_version(session, edge_id)
    machines = list(session.scalars(select(t.Machine.id).where(t.Machine.edge_id == edge_id)))
    orders = machine_orders(session, machines, plan(session, now=now, calendar=calendar))
    customers = sorted({o.customer for o in orders if o.customer})
    priorities = [
        c.CustomerPriority(customer=code, priority_class=cls)  # type: ignore[arg-type]
        for code, cls in session.execute(
            select(t.Customer.code, t.Customer.priority_class).where(t.Customer.code.in_(customers))
        )
    ]
    specs = {(s.item, s.customer, s.characteristic): s for o in orders for s in o.quality_specs}
    return c.Dispatch(
        version=version,
        generated_at=now,
        edge_id=edge_id,
        work_orders=orders,
        priorities=priorities,
        specs=[specs[k] for k in sorted(specs, key=str)],
    )
