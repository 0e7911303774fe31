"""Quality records: store each result, judge it against the customer's limits (else the
item's), and open a non-conformity with an alert when a value is outside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from central.contract import QualityBody, QualityRecord
from central.db.tables import NonConformity, QualityResult, QualitySpec, WorkOrder
from central.services.alerts import raise_alerts
from central.services.sql import dialect_insert, insert_rows

Limits = tuple[float | None, float | None]
SpecKey = tuple[str, str | None, str]


def within(value: float, limits: Limits) -> bool:
    lsl, usl = limits
    return (lsl is None or value >= lsl) and (usl is None or value <= usl)


def _context(
    conn: Connection, records: Sequence[QualityRecord]
) -> tuple[dict[str, Any], dict[SpecKey, Limits]]:
    numbers = sorted({r.body.work_order for r in records if r.body.work_order})
    orders: dict[str, Any] = {}
    if numbers:
        query = select(WorkOrder.number, WorkOrder.item, WorkOrder.customer)
        orders = {o.number: o for o in conn.execute(query.where(WorkOrder.number.in_(numbers)))}
    items = sorted({o.item for o in orders.values()})
    specs: dict[SpecKey, Limits] = {}
    if items:
        for s in conn.execute(select(QualitySpec).where(QualitySpec.item.in_(items))).mappings():
            specs[(s["item"], s["customer"], s["characteristic"])] = (s["lsl"], s["usl"])
    return orders, specs


@dataclass(frozen=True, slots=True)
class Judged:
    item: str | None
    customer: str | None
    limits: Limits | None  # the customer's for this item, else the item's, else None
    in_spec: bool | None  # None: no limits known centrally


def judge(body: QualityBody, orders: dict[str, Any], specs: dict[SpecKey, Limits]) -> Judged:
    order = orders.get(body.work_order) if body.work_order else None
    if order is None:
        return Judged(None, None, None, None)
    limits = specs.get((order.item, order.customer, body.characteristic))
    if limits is None:
        limits = specs.get((order.item, None, body.characteristic))
    in_spec = None if limits is None else within(body.value, limits)
    return Judged(order.item, order.customer, limits, in_spec)


def apply_quality(
    conn: Connection, edge_id: str, records: Sequence[QualityRecord], now: datetime
) -> None:
    orders, specs = _context(conn, records)
    results, ncs, alerts = [], [], []
    for r in records:
        b, j = r.body, judge(r.body, orders, specs)
        results.append(
            {
                **b.model_dump(),
                "edge_id": edge_id,
                "seq": r.seq,
                "ts": r.ts,
                "item": j.item,
                "in_spec": j.in_spec,
            }
        )
        if j.in_spec is False and j.limits is not None:
            ncs.append(_nonconformity(edge_id, r, j, now))
            whose = f"customer {j.customer}'s" if j.customer else "the item's"
            alerts.append(
                (
                    f"nonconformity:{b.work_order}:{b.characteristic}",
                    "nonconformity",
                    b.work_order,
                    f"{b.characteristic} = {b.value:g} on {b.work_order} is outside {whose} "
                    f"limits [{j.limits[0]}, {j.limits[1]}]",
                )
            )
    insert_rows(conn, dialect_insert(conn, QualityResult), results)
    if ncs:
        insert_rows(conn, dialect_insert(conn, NonConformity), ncs)
        raise_alerts(conn, now, alerts, severity="critical")


def _nonconformity(edge_id: str, r: QualityRecord, j: Judged, now: datetime) -> dict[str, Any]:
    assert j.limits is not None
    return {
        "work_order": r.body.work_order,
        "customer": j.customer,
        "item": j.item,
        "characteristic": r.body.characteristic,
        "value": r.body.value,
        "lsl": j.limits[0],
        "usl": j.limits[1],
        "edge_id": edge_id,
        "seq": r.seq,
        "created_at": now,
        "status": "open",
    }
