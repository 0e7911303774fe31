"""Planning over the database: load frozen inputs, run the pure functions of
:mod:`central.domain`, return their results (the jobs and routes write or serve them).

One :func:`plan` call ranks every machine's queue (dispatch rule: expedite, customer class,
earliest due date, FIFO), learns cycle times from the production log, walks the queues through
the working calendar to an ETA per work order and sales order, and lists late orders and
material shortages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db import tables as t
from central.domain.alerts import LateAlert, PurchaseProposal, late_alerts, material_shortages
from central.domain.calendar import WorkingCalendar
from central.domain.dispatch import DispatchRule, MachineQueue, dispatch
from central.domain.eta import (
    OrderEta,
    SalesOrder,
    SalesOrderEta,
    sales_order_etas,
    schedule_queues,
)
from central.domain.orders import READY_STATUSES, ComponentNeed, OpenOrder
from central.domain.stock import StockLot, stock_by_item
from central.domain.throughput import (
    NO_LOSS,
    OeeReport,
    ProductionReport,
    cycle_estimate,
    effective_cycle_s,
    learn_cycle_times,
    recent_efficiency,
)

DEFAULT_CYCLE_S = 60.0  # an order whose machine and routing give no cycle at all
LEARN_LOOKBACK = timedelta(days=14)
OEE_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Plan:
    now: datetime
    orders: dict[str, OpenOrder]
    queues: dict[str, MachineQueue]
    etas: dict[str, OrderEta]
    sales: dict[str, SalesOrderEta]
    late: tuple[LateAlert, ...]
    shortages: tuple[PurchaseProposal, ...]

    def rank(self, number: str) -> int | None:
        order = self.orders.get(number)
        queue = self.queues.get(order.machine) if order else None
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


def _cycles(
    session: Session, orders: dict[str, OpenOrder], now: datetime
) -> dict[tuple[str, str], float]:
    since = now - LEARN_LOOKBACK
    rows = session.execute(
        select(t.ProductionLog, t.WorkOrder.item)
        .join(t.WorkOrder, t.WorkOrder.number == t.ProductionLog.work_order)
        .where(t.ProductionLog.period_end > since)
    ).all()
    learned = learn_cycle_times(
        ProductionReport(p.machine, item, p.period_end, p.good, p.scrap, p.run_s)
        for p, item in rows
    )
    oee = session.scalars(
        select(t.OeeReport).where(t.OeeReport.window_end > now - OEE_LOOKBACK)
    ).all()
    efficiency = recent_efficiency(
        (
            OeeReport(
                r.machine,
                r.window_end,
                r.planned_s,
                min(r.run_s, r.planned_s),
                min(r.performance, 1.0) if r.performance is not None else 1.0,
            )
            for r in oee
        ),
        now=now,
    )
    return {
        (o.machine, o.item): effective_cycle_s(
            cycle_estimate(learned, o.machine, o.item, o.ideal_cycle_s),
            efficiency.get(o.machine, NO_LOSS),
        )
        for o in orders.values()
    }


def plan(session: Session, *, now: datetime, calendar: WorkingCalendar | None = None) -> Plan:
    calendar = calendar or WorkingCalendar.always()
    orders = load_open_orders(session)
    stock = stock_by_item(StockLot(s.item, s.lot, s.qty) for s in session.scalars(select(t.Stock)))
    cycles = _cycles(session, orders, now) if orders else {}
    queues = dispatch(orders.values(), now=now, rule=DispatchRule.EDD, stock=stock, cycle_s=cycles)
    notes = {h.number: h.reasons for q in queues.values() for h in q.held}
    etas = schedule_queues(
        orders.values(),
        {m: q.sequence for m, q in queues.items()},
        now=now,
        calendar=calendar,
        cycle_s=cycles,
        notes=notes,
    )
    so_rows = session.scalars(select(t.SalesOrder).where(t.SalesOrder.status == "open")).all()
    sales = sales_order_etas(
        (SalesOrder(s.number, s.requested_date, s.promised_date) for s in so_rows),
        orders.values(),
        etas,
    )
    starts = {n: e.start for n, e in etas.items()}
    shortages = material_shortages(orders.values(), stock, now=now, starts=starts)
    return Plan(
        now, orders, queues, etas, sales, late_alerts(etas.values(), sales.values()), shortages
    )
