"""What each operator action stores, decided without I/O.

A service implementation reads the current state (dispatch list, stops, specs), asks for a
:class:`Plan`, then writes ``plan.records`` to the outbox and its own state change in one
transaction. ``plan.kind`` and ``plan.summary`` describe the action for the confirmation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge.tablet import records, rules
from edge.tablet.errors import InvalidAction, InvalidInput, UnknownOrder, UnknownStop
from edge.tablet.models import (
    DispatchEntry,
    OrderAction,
    OrderChange,
    OrderStatus,
    PendingStop,
    QualitySpec,
    Reason,
    Receipt,
)


@dataclass(frozen=True, slots=True)
class Plan:
    kind: str
    records: records.Records
    summary: dict[str, Any] = field(default_factory=dict)
    new_status: OrderStatus | None = None  # order actions: the order's next status

    def receipt(self, *, key: str, seq: int, at: datetime) -> Receipt:
        """The confirmation once the plan is stored: ``seq`` is its last outbox record."""
        return Receipt(key=key, kind=self.kind, seq=seq, stored_at=at, summary=self.summary)


def pending_change(changes: Sequence[OrderChange], number: str) -> OrderChange:
    """The change central sent for order ``number`` that awaits the operator's confirmation."""
    change = next((c for c in changes if c.work_order == number), None)
    if change is None:
        raise UnknownOrder(order=number)
    return change


def pending_stop(stops: Sequence[PendingStop], stop_id: str) -> PendingStop:
    """The stop ``stop_id`` among those still waiting for a reason."""
    found = next((s for s in stops if s.id == stop_id), None)
    if found is None:
        raise UnknownStop(stop=stop_id)
    return found


def order(
    *,
    machine: str,
    dispatch: Sequence[DispatchEntry],
    number: str,
    action: OrderAction,
    operator: str,
) -> Plan:
    status = rules.transition(dispatch, number, action)
    recs = records.order_action(machine=machine, order=number, action=action, operator=operator)
    return Plan(f"order_{action}", recs, {"work_order": number}, status)


def counts(
    *,
    machine: str,
    dispatch: Sequence[DispatchEntry],
    good: int,
    scrap: int,
    scrap_reason: str | None,
    reasons: Sequence[Reason],
    operator: str,
    at: datetime,
) -> Plan:
    rules.check_counts(good, scrap, scrap_reason, reasons)
    current = rules.active_order(dispatch)
    recs = records.counts(
        machine=machine,
        order=current.number if current else None,
        good=good,
        scrap=scrap,
        scrap_reason=scrap_reason if scrap else None,
        operator=operator,
        at=at,
    )
    summary = {"good": good, "scrap": scrap, "reason": scrap_reason if scrap else None}
    return Plan("counts", recs, summary)


def stop(
    *,
    stop: PendingStop,
    reason: str,
    reasons: Sequence[Reason],
    dispatch: Sequence[DispatchEntry],
    operator: str,
) -> Plan:
    rules.check_reason(reason, reasons, field="reason")
    planned = any(leaf.planned for root in reasons for leaf in root.leaves() if leaf.code == reason)
    current = rules.active_order(dispatch)
    recs = records.stop_reason(
        stop=stop,
        reason=reason,
        operator=operator,
        order=current.number if current else None,
        planned=planned,
    )
    return Plan("stop_reason", recs, {"reason": reason, "stop": stop.id, "planned": planned})


def consume(
    *,
    machine: str,
    dispatch: Sequence[DispatchEntry],
    item: str,
    lot: str,
    qty: float,
    uom: str,
    operator: str,
) -> Plan:
    item = rules.check_text(item, field="item")
    lot = rules.check_text(lot, field="lot")
    qty = rules.check_quantity(qty)
    uom = rules.check_text(uom, field="uom", max_len=16)
    current = rules.active_order(dispatch)
    if current is None:  # genealogy needs an order to hang the lot on
        raise InvalidAction("error.no_active_order")
    recs = records.consumption(
        machine=machine,
        order=current.number,
        item=item,
        lot=lot,
        qty=qty,
        uom=uom,
        operator=operator,
    )
    summary = {"item": item, "lot": lot, "qty": f"{qty:g}", "uom": uom}
    return Plan("consumption", recs, summary)


def quality(
    *,
    machine: str,
    dispatch: Sequence[DispatchEntry],
    specs: Sequence[QualitySpec],
    characteristic: str,
    value: float,
    operator: str,
) -> tuple[Plan, QualitySpec]:
    spec = next((s for s in specs if s.characteristic == characteristic), None)
    if spec is None:
        raise InvalidInput("characteristic")
    if not math.isfinite(value):
        raise InvalidInput("value")
    current = rules.active_order(dispatch)
    recs = records.quality(
        machine=machine,
        order=current.number if current else None,
        spec=spec,
        value=value,
        operator=operator,
    )
    summary = {
        "characteristic": characteristic,
        "value": f"{value:g}",
        "verdict": spec.verdict(value),
    }
    return Plan("quality", recs, summary), spec


def confirm_change(*, change: OrderChange, operator: str) -> Plan:
    """The operator acknowledges central's change (the order logic applies it)."""
    what = "cancel" if change.kind == "cancel" else f"qty {change.target}"
    recs = records.change_confirmed(
        machine=change.machine, order=change.work_order, what=what, operator=operator
    )
    summary = {"work_order": change.work_order, "change": change.kind, "target": change.target}
    return Plan("change_confirmed", recs, summary)
