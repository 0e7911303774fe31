"""Outbox records of operator actions, pure: each action -> a list of ``(kind, body)``.

Rule: every action yields exactly one ``declaration`` record carrying the operator's id (the
audit trail central keeps), plus, where the sync contract has a dedicated kind, the domain
record: ``production`` (parts declared by hand), ``stop`` (the stop again, now with its reason),
``consumption`` (lot genealogy), ``quality`` (measurement and verdict). The domain bodies carry
the operator too as soon as the contract gives them an ``operator`` field.

Every body is validated against :mod:`central.contract` before it is stored, so the outbox never
holds a record that central would refuse (which would block the sync of everything behind it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.contract import BODY_MODELS
from edge.tablet.models import OrderAction, PendingStop, QualitySpec

Body = dict[str, Any]
Records = list[tuple[str, Body]]

ORDER_ACTIONS = {
    OrderAction.start: "start_order",
    OrderAction.pause: "pause_order",
    OrderAction.resume: "resume_order",
    OrderAction.finish: "complete_order",
}
VERDICTS = {"pass": "ok", "fail": "nok"}


def body(kind: str, fields: Body, operator: str) -> tuple[str, Body]:
    """Validate ``fields`` as the contract's body of ``kind`` and return its JSON form."""
    model = BODY_MODELS[kind]
    if "operator" in model.model_fields:
        fields = {**fields, "operator": operator}
    return kind, model.model_validate(fields).model_dump(mode="json", exclude_none=True)


def order_action(*, machine: str, order: str, action: OrderAction, operator: str) -> Records:
    decl = {"machine": machine, "action": ORDER_ACTIONS[action], "work_order": order}
    return [body("declaration", decl, operator)]


def counts(
    *,
    machine: str,
    order: str | None,
    good: int,
    scrap: int,
    scrap_reason: str | None,
    operator: str,
    at: datetime,
) -> Records:
    out: Records = []
    if scrap:
        decl = {
            "machine": machine,
            "action": "scrap",
            "work_order": order,
            "qty": scrap,
            "reason": scrap_reason,
        }
        out.append(body("declaration", decl, operator))
    if good:  # a count by hand (machines without a counter): booked as production
        note = {
            "machine": machine,
            "action": "note",
            "work_order": order,
            "qty": good,
            "note": "good parts declared",
        }
        out.append(body("declaration", note, operator))
        prod = {
            "machine": machine,
            "work_order": order,
            "good": good,
            "scrap": 0,
            "period_start": at,
            "period_end": at,
        }
        out.append(body("production", prod, operator))
    return out


def stop_reason(
    *, stop: PendingStop, reason: str, operator: str, order: str | None, planned: bool = False
) -> Records:
    window = f"stop {stop.start.isoformat()} – {stop.end.isoformat() if stop.end else 'open'}"
    decl = {
        "machine": stop.machine,
        "action": "stop_reason",
        "reason": reason,
        "work_order": order,
        "note": window,
    }
    again = {
        "machine": stop.machine,
        "start": stop.start,
        "end": stop.end,
        "reason": reason,
        "work_order": order,
        "category": "planned" if planned else "unplanned",
    }
    return [body("declaration", decl, operator), body("stop", again, operator)]


def consumption(
    *, machine: str, order: str, item: str, lot: str, qty: float, uom: str, operator: str
) -> Records:
    decl = {
        "machine": machine,
        "action": "note",
        "work_order": order,
        "qty": qty,
        "note": f"consumption item={item} lot={lot} qty={qty:g} {uom}",
    }
    cons = {
        "work_order": order,
        "item": item,
        "lot": lot,
        "qty": qty,
        "uom": uom,
        "machine": machine,
    }
    return [body("declaration", decl, operator), body("consumption", cons, operator)]


def quality(
    *, machine: str, order: str | None, spec: QualitySpec, value: float, operator: str
) -> Records:
    verdict = spec.verdict(value)
    decl = {
        "machine": machine,
        "action": "note",
        "work_order": order,
        "note": f"quality {spec.characteristic}={value:g} {spec.unit} {verdict}".strip(),
    }
    meas = {
        "characteristic": spec.characteristic,
        "value": value,
        "unit": spec.unit or None,
        "verdict": VERDICTS[verdict],
        "machine": machine,
        "work_order": order,
    }
    return [body("declaration", decl, operator), body("quality", meas, operator)]


def change_confirmed(*, machine: str, order: str, what: str, operator: str) -> Records:
    decl = {
        "machine": machine,
        "action": "note",
        "work_order": order,
        "note": f"operator confirmed central's change: {what}",
    }
    return [body("declaration", decl, operator)]
