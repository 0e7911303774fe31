"""Planning over the database: load frozen inputs, run the pure functions of
:mod:`central.domain`, return their results (the jobs and routes write or serve them).

One :func:`plan` call ranks every machine's queue (dispatch rule: expedite, customer class,
planner's priority, earliest due date, FIFO), learns cycle times from the production log,
walks the queues through the plant's working calendar to an ETA per work order and sales
order, and lists late orders and material shortages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db import tables as t
from central.domain import plan as domain
from central.domain.calendar import WorkingCalendar
from central.domain.eta import OrderEta, SalesOrder
from central.domain.orders import READY_STATUSES, ComponentNeed, OpenOrder
from central.domain.stock import StockLot
from central.domain.throughput import OeeReport, ProductionReport

DEFAULT_CYCLE_S = 60.0  # an order whose machine and routing give no cycle at all
LEARN_LOOKBACK = timedelta(days=14)
OEE_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Plan:
    """The domain's plan and the orders it was built from."""

    now: datetime
    orders: dict[str, OpenOrder]
    result: domain.Plan

    @property
    def etas(self) -> Mapping[str, OrderEta]:
        return self.result.etas

    def rank(self, number: str) -> int | None:
        """Position of the order in its machine's run sequence (1 = next); held ones last."""
        order = self.orders.get(number)
        queue = self.result.queues.get(order.machine) if order else None
        if queue is None:
            return None
        seq = queue.sequence
        return seq.index(number) + 1 if number in seq else None


def load_open_orders(session: Session) -> dict[str, OpenOrder]:
    """Ready work orders (released, in progress, paused) with a machine, as planning inputs."""
    wos = session.scalars(
        select(t.WorkOrder).where(
            t.WorkOrder.status.in_(sorted(READY_STATUSES)), t.WorkOrder.machine.is_not(None)
        )
    ).all()
    if not wos:
        return {}
    items = {w.item for w in wos}
    routing = {
        (r.item, r.machine): r
        for r in session.scalars(
            select(t.RoutingOperation).where(t.RoutingOperation.item.in_(items))
        )
    }
    machines = {m.id: m for m in session.scalars(select(t.Machine))}
    classes = dict(session.execute(select(t.Customer.code, t.Customer.priority_class)).all())
    bom: dict[str, list[t.BomLine]] = defaultdict(list)
    for line in session.scalars(select(t.BomLine).where(t.BomLine.parent.in_(items))):
        bom[line.parent].append(line)
    consumed = _consumed(session, [w.number for w in wos])
    out = {}
    for w in wos:
        assert w.machine is not None
        op = routing.get((w.item, w.machine))
        machine = machines.get(w.machine)
        cycle = op.ideal_cycle_s if op else (machine.ideal_cycle_s if machine else None)
        out[w.number] = OpenOrder(
            number=w.number,
            item=w.item,
            machine=w.machine,
            status=w.status,
            qty=w.qty,
            ideal_cycle_s=cycle or DEFAULT_CYCLE_S,
            qty_good=max(w.qty_good, 0.0),
            qty_scrap=max(w.qty_scrap, 0.0),
            setup_s=op.setup_s if op else 0.0,
            due=w.due,
            released_at=w.released_at,
            expedite=w.expedite,
            priority_class=classes.get(w.customer) if w.customer else None,
            priority=w.priority,
            sales_order=w.sales_order,
            components=tuple(
                ComponentNeed(b.component, b.qty_per, consumed.get((w.number, b.component), 0.0))
                for b in bom[w.item]
            ),
        )
    return out


def _consumed(session: Session, numbers: list[str]) -> dict[tuple[str, str], float]:
    query = (
        select(t.StockMove.work_order, t.StockMove.item, func.sum(-t.StockMove.qty))
        .where(t.StockMove.kind == "consume", t.StockMove.work_order.in_(numbers))
        .group_by(t.StockMove.work_order, t.StockMove.item)
    )
    rows = session.execute(query)
    return {(str(wo), item): max(float(q or 0.0), 0.0) for wo, item, q in rows}


def _production(session: Session, now: datetime) -> list[ProductionReport]:
    rows = session.execute(
        select(t.ProductionLog, t.WorkOrder.item)
        .join(t.WorkOrder, t.WorkOrder.number == t.ProductionLog.work_order)
        .where(t.ProductionLog.period_end > now - LEARN_LOOKBACK)
    ).all()
    return [
        ProductionReport(p.machine, item, p.period_end, p.good, p.scrap, p.run_s)
        for p, item in rows
    ]


def _oee(session: Session, now: datetime) -> list[OeeReport]:
    rows = session.scalars(select(t.OeeReport).where(t.OeeReport.window_end > now - OEE_LOOKBACK))
    return [
        OeeReport(
            r.machine,
            r.window_end,
            r.planned_s,
            min(r.run_s, r.planned_s),
            r.performance if r.performance is not None else 1.0,
        )
        for r in rows
    ]


def _incoming(session: Session) -> dict[str, float]:
    """Purchases already ordered count as incoming stock for the shortage check."""
    query = (
        select(t.PurchaseProposal.item, func.sum(t.PurchaseProposal.qty))
        .where(t.PurchaseProposal.status == "ordered")
        .group_by(t.PurchaseProposal.item)
    )
    return {item: float(qty or 0.0) for item, qty in session.execute(query)}


def plan(session: Session, *, now: datetime, calendar: WorkingCalendar | None = None) -> Plan:
    """Plan every open order from ``now`` (24/7 calendar unless one is given)."""
    orders = load_open_orders(session)
    sales = session.scalars(select(t.SalesOrder).where(t.SalesOrder.status == "open")).all()
    result = domain.build_plan(
        list(orders.values()),
        now=now,
        calendar=calendar or WorkingCalendar.always(),
        production=_production(session, now) if orders else (),
        oee=_oee(session, now) if orders else (),
        stock=[StockLot(s.item, s.lot, s.qty) for s in session.scalars(select(t.Stock))],
        sales_orders=[SalesOrder(so.number, so.requested_date, so.promised_date) for so in sales],
        incoming=_incoming(session),
    )
    return Plan(now, orders, result)
