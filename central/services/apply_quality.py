"""Quality records: store each result, judge it against the customer's limits (else the
item's), and open a non-conformity with an alert when a value is outside them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from central.contract import QualityRecord
from central.db.tables import NonConformity, QualityResult, QualitySpec, WorkOrder
from central.services.alerts import raise_alerts
from central.services.sql import dialect_insert

Limits = tuple[float | None, float | None]


def within(value: float, limits: Limits) -> bool:
    lsl, usl = limits
    return (lsl is None or value >= lsl) and (usl is None or value <= usl)


def _context(
    conn: Connection, records: Sequence[QualityRecord]
) -> tuple[dict[str, Any], dict[tuple[str, str | None, str], Limits]]:
    numbers = sorted({r.body.work_order for r in records if r.body.work_order})
    orders: dict[str, Any] = {}
    if numbers:
        query = select(WorkOrder.number, WorkOrder.item, WorkOrder.customer)
        orders = {o.number: o for o in conn.execute(query.where(WorkOrder.number.in_(numbers)))}
    items = sorted({o.item for o in orders.values()})
    specs: dict[tuple[str, str | None, str], Limits] = {}
    if items:
        for s in conn.execute(select(QualitySpec).where(QualitySpec.item.in_(items))).mappings():
            specs[(s["item"], s["customer"], s["characteristic"])] = (s["lsl"], s["usl"])
    return orders, specs


def apply_quality(
    conn: Connection, edge_id: str, records: Sequence[QualityRecord], now: datetime
) -> None:
    orders, specs = _context(conn, records)
    results, ncs, alerts = [], [], []
    for r in records:
        b = r.body
        order = orders.get(b.work_order) if b.work_order else None
        item = order.item if order else None
        customer = order.customer if order else None
        limits = specs.get((item, customer, b.characteristic)) if item else None
        if limits is None and item:
            limits = specs.get((item, None, b.characteristic))
        in_spec = None if limits is None else within(b.value, limits)
        results.append(
            {
                "edge_id": edge_id,
                "seq": r.seq,
                "ts": r.ts,
                "work_order": b.work_order,
                "machine": b.machine,
                "item": item,
                "characteristic": b.characteristic,
                "value": b.value,
                "unit": b.unit,
                "verdict": b.verdict,
                "in_spec": in_spec,
            }
        )
        if in_spec is False and limits is not None:
            ncs.append(
                {
                    "work_order": b.work_order,
                    "customer": customer,
                    "item": item,
                    "characteristic": b.characteristic,
                    "value": b.value,
                    "lsl": limits[0],
                    "usl": limits[1],
                    "edge_id": edge_id,
                    "seq": r.seq,
                    "created_at": now,
                    "status": "open",
                }
            )
            whose = f"customer {customer}'s" if customer else "the item's"
            alerts.append(
                (
                    f"nonconformity:{b.work_order}:{b.characteristic}",
                    "nonconformity",
                    b.work_order,
                    f"{b.characteristic} = {b.value:g} on {b.work_order} is outside {whose} "
                    f"limits [{limits[0]}, {limits[1]}]",
                )
            )
    conn.execute(dialect_insert(conn, QualityResult), results)
    if ncs:
        conn.execute(dialect_insert(conn, NonConformity), ncs)
        raise_alerts(conn, now, alerts, severity="critical")
