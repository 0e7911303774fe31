"""The dispatch list as the floor sees it, from central's plan and the floor's own actions; pure.

Central's :class:`~central.contract.Dispatch` (JSON as stored by the edge) gives the orders of a
machine in rank order with customer priority, due date and quality specs; the status an
operator set on the tablet (``tablet_orders``) wins over the plan's — central learns it from the
outbox, possibly much later — except that central's cancel or close removes the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from edge.tablet.models import DispatchEntry, OrderStatus, QualitySpec
from edge.tablet.store_queries import Snapshot

SHOWN = {
    "released": OrderStatus.released,
    "in_progress": OrderStatus.in_progress,
    "paused": OrderStatus.paused,
    "completed": OrderStatus.completed,
}


def local_date(value: str | None, tz: tzinfo) -> date | None:
    return datetime.fromisoformat(value).astimezone(tz).date() if value else None


def dispatch_entries(snap: Snapshot, machine: str, tz: tzinfo) -> list[DispatchEntry]:
    orders = [
        w for w in (snap.dispatch or {}).get("work_orders", []) if w.get("machine") == machine
    ]
    entries = []
    for wo in sorted(orders, key=lambda w: (w.get("rank", 0), w.get("number", ""))):
        status = snap.local_status.get(wo["number"], (wo.get("status", ""), 0))[0]
        if wo.get("status") in ("cancelled", "closed") or status not in SHOWN:
            continue  # central's cancel wins; drafts are not for the floor
        good, scrap = snap.made.get(wo["number"], (0, 0))
        entries.append(
            DispatchEntry(
                number=wo["number"],
                item=wo["item"],
                qty=int(wo.get("target") or wo["qty"]),
                status=SHOWN[status],
                qty_good=good,
                qty_scrap=scrap,
                customer=wo.get("customer"),
                priority=wo.get("customer_priority_class") or str(wo.get("priority", "")),
                due=local_date(wo.get("due"), tz),
            )
        )
    return entries


def specs_for(order: dict[str, Any], specs: Sequence[dict[str, Any]]) -> list[QualitySpec]:
    """The order's limits: its own specs, else the plan's for its item; the customer's win."""
    candidates = list(order.get("quality_specs") or []) or [
        s for s in specs if s.get("item") == order.get("item")
    ]
    customer = order.get("customer")
    chosen: dict[str, dict[str, Any]] = {}
    for spec in candidates:
        if spec.get("customer") not in (None, customer):
            continue
        name = spec["characteristic"]
        if name not in chosen or spec.get("customer") == customer:
            chosen[name] = spec
    return [
        QualitySpec(name, s.get("lsl"), s.get("usl"), s.get("unit") or "", s.get("customer"))
        for name, s in chosen.items()
    ]
