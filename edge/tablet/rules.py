"""Pure rules of operator actions: order transitions and input checks."""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge.tablet.errors import InvalidAction, InvalidInput, UnknownOrder
from edge.tablet.models import DispatchEntry, OrderAction, OrderStatus, Reason

# (current status, action) -> next status
_TRANSITIONS: dict[tuple[OrderStatus, OrderAction], OrderStatus] = {
    (OrderStatus.released, OrderAction.start): OrderStatus.in_progress,
    (OrderStatus.in_progress, OrderAction.pause): OrderStatus.paused,
    (OrderStatus.paused, OrderAction.resume): OrderStatus.in_progress,
    (OrderStatus.in_progress, OrderAction.finish): OrderStatus.completed,
    (OrderStatus.paused, OrderAction.finish): OrderStatus.completed,
}


def allowed_actions(status: OrderStatus) -> tuple[OrderAction, ...]:
    return tuple(a for (s, a) in _TRANSITIONS if s is status)


def find_order(entries: Sequence[DispatchEntry], number: str) -> DispatchEntry:
    for entry in entries:
        if entry.number == number:
            return entry
    raise UnknownOrder(order=number)


def active_order(entries: Sequence[DispatchEntry]) -> DispatchEntry | None:
    """The order the machine works on: in progress, else paused."""
    for status in (OrderStatus.in_progress, OrderStatus.paused):
        for entry in entries:
            if entry.status is status:
                return entry
    return None


def transition(entries: Sequence[DispatchEntry], number: str, action: OrderAction) -> OrderStatus:
    """Next status of ``number``; one order at a time per machine (start needs none active)."""
    entry = find_order(entries, number)
    nxt = _TRANSITIONS.get((entry.status, action))
    if nxt is None:
        raise InvalidAction("error.transition", action=str(action), status=str(entry.status))
    current = active_order(entries)
    if action is OrderAction.start and current is not None:
        raise InvalidAction("error.other_order_active", order=current.number)
    return nxt


def check_counts(
    good: int, scrap: int, scrap_reason: str | None, reasons: Sequence[Reason]
) -> None:
    if good < 0:
        raise InvalidInput("good")
    if scrap < 0:
        raise InvalidInput("scrap")
    if good == 0 and scrap == 0:
        raise InvalidInput("good", "nothing to declare")
    if scrap > 0:
        check_reason(scrap_reason, reasons, field="scrap_reason")


def check_reason(code: str | None, tree: Sequence[Reason], *, field: str) -> str:
    leaves = {leaf.code for root in tree for leaf in root.leaves()}
    if not code or code not in leaves:
        raise InvalidInput(field)
    return code


def check_quantity(qty: float) -> float:
    if not math.isfinite(qty) or qty <= 0:
        raise InvalidInput("qty")
    return qty


def check_text(value: str, *, field: str, max_len: int = 64) -> str:
    """Scanner input: trimmed, non-empty, printable, bounded."""
    text = value.strip()
    if not text or len(text) > max_len or not text.isprintable():
        raise InvalidInput(field)
    return text
