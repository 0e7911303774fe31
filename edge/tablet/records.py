"""Outbox records of operator actions: ``(kind, body)`` pairs, pure.

Kinds follow the sync contract (DESIGN.md): ``consumption`` and ``quality`` have their own kinds;
order actions, good/scrap counts and stop reasons are ``declaration`` records told apart by
``type``. Every body carries ``machine``, ``operator`` and the idempotency ``key`` (central can
dedupe on it too) and ``at`` (ISO 8601 UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edge.tablet.models import OrderAction, PendingStop, QualitySpec

Body = dict[str, Any]


def _base(machine: str, operator: str, key: str, at: datetime) -> Body:
    return {"machine": machine, "operator": operator, "key": key, "at": at.isoformat()}


def order_action(
    *, machine: str, order: str, action: OrderAction, operator: str, key: str, at: datetime
) -> tuple[str, Body]:
    body = _base(machine, operator, key, at) | {"type": f"order_{action}", "work_order": order}
    return "declaration", body


def counts(
    *,
    machine: str,
    order: str | None,
    good: int,
    scrap: int,
    scrap_reason: str | None,
    operator: str,
    key: str,
    at: datetime,
) -> tuple[str, Body]:
    body = _base(machine, operator, key, at) | {
        "type": "counts",
        "work_order": order,
        "good": good,
        "scrap": scrap,
        "scrap_reason": scrap_reason,
    }
    return "declaration", body


def stop_reason(
    *, stop: PendingStop, reason: str, operator: str, key: str, at: datetime
) -> tuple[str, Body]:
    body = _base(stop.machine, operator, key, at) | {
        "type": "stop_reason",
        "stop_id": stop.id,
        "start": stop.start.isoformat(),
        "end": stop.end.isoformat() if stop.end else None,
        "reason": reason,
    }
    return "declaration", body


def consumption(
    *,
    machine: str,
    order: str | None,
    item: str,
    lot: str,
    qty: float,
    uom: str,
    operator: str,
    key: str,
    at: datetime,
) -> tuple[str, Body]:
    body = _base(machine, operator, key, at) | {
        "work_order": order,
        "item": item,
        "lot": lot,
        "qty": qty,
        "uom": uom,
    }
    return "consumption", body


def quality(
    *,
    machine: str,
    order: str | None,
    spec: QualitySpec,
    value: float,
    operator: str,
    key: str,
    at: datetime,
) -> tuple[str, Body]:
    body = _base(machine, operator, key, at) | {
        "work_order": order,
        "characteristic": spec.characteristic,
        "value": value,
        "lower": spec.lower,
        "upper": spec.upper,
        "unit": spec.unit,
        "verdict": spec.verdict(value),
    }
    return "quality", body
