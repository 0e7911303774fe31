"""Work-order state machine (ISA-95 job control as ERPs apply it), pure.

    draft ──release──► released ──start──► in_progress ⇄ paused (pause / resume)
      │                   │                    │   │
      └──cancel──► cancelled ◄──cancel──┘      │   └──complete──► completed ──close──► closed
                                               └──close (short)────────────────────► closed

Cancel only before start. After start an order is never thrown away: stopping it early closes
it *short*, keeping the floor quantities. Edits: before start anything planned may change;
after start only ``priority``, ``due`` and ``expedite`` change freely, ``qty`` may change but
never below the good quantity already made; a finished order is read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from central.errors import Conflict


class Status(StrEnum):
    DRAFT = "draft"
    RELEASED = "released"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    RELEASE = "release"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    COMPLETE = "complete"
    CLOSE = "close"
    CANCEL = "cancel"


S = Status
_TRANSITIONS: dict[tuple[Action, Status], Status] = {
    (Action.RELEASE, S.DRAFT): S.RELEASED,
    (Action.START, S.RELEASED): S.IN_PROGRESS,
    (Action.START, S.PAUSED): S.IN_PROGRESS,
    (Action.PAUSE, S.IN_PROGRESS): S.PAUSED,
    (Action.RESUME, S.PAUSED): S.IN_PROGRESS,
    (Action.COMPLETE, S.IN_PROGRESS): S.COMPLETED,
    (Action.COMPLETE, S.PAUSED): S.COMPLETED,
    (Action.CLOSE, S.COMPLETED): S.CLOSED,
    (Action.CLOSE, S.IN_PROGRESS): S.CLOSED,
    (Action.CLOSE, S.PAUSED): S.CLOSED,
    (Action.CANCEL, S.DRAFT): S.CANCELLED,
    (Action.CANCEL, S.RELEASED): S.CANCELLED,
}

STARTED = frozenset({S.IN_PROGRESS, S.PAUSED})
FINISHED = frozenset({S.COMPLETED, S.CLOSED, S.CANCELLED})
OPEN = frozenset({S.RELEASED, S.IN_PROGRESS, S.PAUSED})  # what the floor may work on
FREE_AFTER_START = frozenset({"priority", "due", "expedite"})
CHECKED_AFTER_START = frozenset({"qty"})


@dataclass(frozen=True, slots=True)
class Transition:
    before: Status
    after: Status
    closed_short: bool  # closed from in_progress/paused: stopped before completion


def transition(status: Status | str, action: Action | str) -> Transition:
    """The state reached by ``action`` from ``status``; :class:`Conflict` if not allowed."""
    before, act = Status(status), Action(action)
    after = _TRANSITIONS.get((act, before))
    if after is None:
        allowed = sorted(a.value for (a, s) in _TRANSITIONS if s == before)
        raise Conflict(
            f"cannot {act.value} a work order that is {before.value}"
            f" (allowed: {', '.join(allowed) or 'nothing'})"
        )
    return Transition(before, after, closed_short=act is Action.CLOSE and before in STARTED)


def check_update(
    status: Status | str, fields: Iterable[str], *, new_qty: float | None, qty_good: float
) -> None:
    """Refuse (:class:`Conflict`) an edit that the order's state does not allow."""
    state, changed = Status(status), set(fields)
    if state in FINISHED and changed:
        raise Conflict(f"a {state.value} work order cannot change ({', '.join(sorted(changed))})")
    if state in STARTED:
        frozen = changed - FREE_AFTER_START - CHECKED_AFTER_START
        if frozen:
            raise Conflict(
                f"after start only priority, due, expedite and qty may change, not "
                f"{', '.join(sorted(frozen))}"
            )
    if new_qty is not None and new_qty < qty_good:
        raise Conflict(f"qty {new_qty:g} is below the {qty_good:g} good parts already made")
