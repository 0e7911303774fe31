"""Alerts for the planner: late orders and material shortages (→ purchase proposals).

Late: a work order whose ETA is after its due date, a sales order whose ETA is after its
promised date (requested when nothing was promised). ``days_late`` counts started days
(2 h late → 1 day), ``late_s`` is exact. Sorted most late first.

Shortage, per component item: ``required`` = Σ outstanding need of the ready (released,
in_progress, paused) orders (``OpenOrder.component_needs``); ``available`` = on-hand stock
(summed over lots, negative book stock counted as 0) + ``incoming`` (already on order).
``shortage = required − available`` when positive. ``needed_by`` is the planned start of the
first order, in start order, whose need is no longer covered (the stock runs out there, not at
the first order that uses the item); ``orders_short`` are that order and all later ones.
Suggested purchase: the shortage raised to the item's minimum order quantity, then rounded up
to its order multiple (min 100, multiple 30, short 10 → 120).

Public API::

    late_alerts(order_etas, sales_etas) -> tuple[LateAlert, ...]
    material_shortages(orders, stock, *, now, starts=None, policies=None, incoming=None)
        -> tuple[PurchaseProposal, ...]                           (sorted by needed_by, item)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from central.domain._checks import require_aware, require_non_negative, require_positive
from central.domain.dispatch import natural_key
from central.domain.eta import OrderEta, SalesOrderEta
from central.domain.orders import OpenOrder

DAY_S = 86_400
# Quantities are floats; ignore differences below this (float dust from BOM multiplications).
QTY_EPS = 1e-9


@dataclass(frozen=True)
class LateAlert:
    kind: Literal["work_order", "sales_order"]
    number: str
    eta: datetime
    commitment: datetime
    commitment_kind: Literal["due", "promised", "requested"]
    late_s: float
    days_late: int


@dataclass(frozen=True)
class ItemPolicy:
    """Purchase rules of an item: minimum order quantity and order multiple (both optional)."""

    item: str
    min_order_qty: float | None = None
    order_multiple: float | None = None

    def __post_init__(self) -> None:
        if self.min_order_qty is not None:
            require_non_negative(f"ItemPolicy[{self.item}].min_order_qty", self.min_order_qty)
        if self.order_multiple is not None:
            require_positive(f"ItemPolicy[{self.item}].order_multiple", self.order_multiple)


@dataclass(frozen=True)
class PurchaseProposal:
    item: str
    on_hand: float
    incoming: float
    required: float
    shortage: float
    suggested_qty: float
    needed_by: datetime
    orders_short: tuple[str, ...]


def late_alerts(
    order_etas: Iterable[OrderEta], sales_etas: Iterable[SalesOrderEta]
) -> tuple[LateAlert, ...]:
    """One alert per late work order and late sales order, most late first."""
    alerts = [
        _late("work_order", e.number, e.eta, e.due, "due")
        for e in order_etas
        if e.due is not None and e.eta > e.due
    ]
    alerts.extend(
        _late("sales_order", s.number, s.eta, s.commitment, s.commitment_kind)
        for s in sales_etas
        if s.late and s.eta and s.commitment and s.commitment_kind
    )
    return tuple(sorted(alerts, key=lambda a: (-a.late_s, a.kind, natural_key(a.number))))


def _late(
    kind: Literal["work_order", "sales_order"],
    number: str,
    eta: datetime,
    commitment: datetime,
    commitment_kind: Literal["due", "promised", "requested"],
) -> LateAlert:
    late_s = (eta - commitment).total_seconds()
    return LateAlert(
        kind, number, eta, commitment, commitment_kind, late_s, math.ceil(late_s / DAY_S)
    )


def material_shortages(
    orders: Iterable[OpenOrder],
    stock: Mapping[str, float],
    *,
    now: datetime,
    starts: Mapping[str, datetime] | None = None,
    policies: Mapping[str, ItemPolicy] | None = None,
    incoming: Mapping[str, float] | None = None,
) -> tuple[PurchaseProposal, ...]:
    """Purchase proposals for the items the ready orders need beyond stock (see module doc).

    ``stock`` is on-hand qty per item (``central.domain.stock.stock_by_item``); ``starts`` the
    planned start per work order (``OrderEta.start``), ``now`` when unknown.
    """
    require_aware("now", now)
    starts = starts or {}
    users: dict[str, list[tuple[datetime, str, float]]] = {}
    for order in orders:
        if not order.is_ready:
            continue
        start = starts.get(order.number, now)
        require_aware(f"starts[{order.number}]", start)
        for item, need in order.component_needs().items():
            if need > QTY_EPS:
                users.setdefault(item, []).append((start, order.number, need))
    proposals = []
    for item, needs in users.items():
        needs.sort(key=lambda u: (u[0], natural_key(u[1])))
        on_hand, extra = stock.get(item, 0.0), (incoming or {}).get(item, 0.0)
        proposal = _proposal(item, needs, on_hand, extra, (policies or {}).get(item))
        if proposal is not None:
            proposals.append(proposal)
    return tuple(sorted(proposals, key=lambda p: (p.needed_by, p.item)))


def _proposal(
    item: str,
    needs: list[tuple[datetime, str, float]],
    on_hand: float,
    incoming: float,
    policy: ItemPolicy | None,
) -> PurchaseProposal | None:
    available = max(0.0, on_hand) + incoming
    required = sum(n for _, _, n in needs)
    shortage = required - available
    if shortage <= QTY_EPS:
        return None
    cumulative, first_short = 0.0, 0
    for i, (_, _, need) in enumerate(needs):
        cumulative += need
        if cumulative > available + QTY_EPS:
            first_short = i
            break
    return PurchaseProposal(
        item=item,
        on_hand=on_hand,
        incoming=incoming,
        required=required,
        shortage=shortage,
        suggested_qty=suggested_qty(shortage, policy),
        needed_by=needs[first_short][0],
        orders_short=tuple(number for _, number, _ in needs[first_short:]),
    )


def suggested_qty(shortage: float, policy: ItemPolicy | None) -> float:
    """``shortage`` raised to the minimum order qty, then up to the order multiple."""
    qty = shortage
    if policy and policy.min_order_qty is not None:
        qty = max(qty, policy.min_order_qty)
    if policy and policy.order_multiple:
        # The epsilon keeps float dust (3 × 0.1 / 0.1 = 3.0000000000000004) from adding a multiple.
        qty = math.ceil(qty / policy.order_multiple - QTY_EPS) * policy.order_multiple
    return round(qty, 9)
