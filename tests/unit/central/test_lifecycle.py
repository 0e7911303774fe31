"""Work-order state machine: every transition, every refusal, edit rules."""

from __future__ import annotations

import itertools

import pytest

from central.errors import Conflict
from central.lifecycle import Action, Status, check_update, transition

ALLOWED = {
    (Action.RELEASE, Status.DRAFT): Status.RELEASED,
    (Action.START, Status.RELEASED): Status.IN_PROGRESS,
    (Action.START, Status.PAUSED): Status.IN_PROGRESS,
    (Action.PAUSE, Status.IN_PROGRESS): Status.PAUSED,
    (Action.RESUME, Status.PAUSED): Status.IN_PROGRESS,
    (Action.COMPLETE, Status.IN_PROGRESS): Status.COMPLETED,
    (Action.COMPLETE, Status.PAUSED): Status.COMPLETED,
    (Action.CLOSE, Status.COMPLETED): Status.CLOSED,
    (Action.CLOSE, Status.IN_PROGRESS): Status.CLOSED,
    (Action.CLOSE, Status.PAUSED): Status.CLOSED,
    (Action.CANCEL, Status.DRAFT): Status.CANCELLED,
    (Action.CANCEL, Status.RELEASED): Status.CANCELLED,
}


@pytest.mark.parametrize(("action", "status"), list(itertools.product(Action, Status)))
def test_transition_table(action: Action, status: Status) -> None:
    expected = ALLOWED.get((action, status))
    if expected is None:
        with pytest.raises(
            Conflict, match=f"cannot {action.value} a work order that is {status.value}"
        ):
            transition(status, action)
    else:
        assert transition(status, action).after is expected


def test_close_after_start_is_short_and_after_completion_is_not() -> None:
    assert transition("in_progress", "close").closed_short
    assert transition("paused", "close").closed_short
    assert not transition("completed", "close").closed_short


def test_terminal_states_allow_nothing() -> None:
    for status in (Status.CLOSED, Status.CANCELLED):
        for action in Action:
            with pytest.raises(Conflict, match="allowed: nothing"):
                transition(status, action)


def test_before_start_everything_may_change() -> None:
    check_update("draft", {"qty", "machine", "due", "priority"}, new_qty=5, qty_good=0)
    check_update("released", {"machine"}, new_qty=None, qty_good=0)


def test_after_start_only_priority_due_expedite_and_qty() -> None:
    check_update("in_progress", {"priority", "due", "expedite", "qty"}, new_qty=50, qty_good=40)
    with pytest.raises(Conflict, match="not machine"):
        check_update("paused", {"machine", "priority"}, new_qty=None, qty_good=0)


def test_qty_never_below_what_was_made() -> None:
    with pytest.raises(Conflict, match="below the 40 good parts"):
        check_update("in_progress", {"qty"}, new_qty=39, qty_good=40)
    check_update("in_progress", {"qty"}, new_qty=40, qty_good=40)


def test_finished_orders_are_read_only() -> None:
    for status in ("completed", "closed", "cancelled"):
        with pytest.raises(Conflict, match=f"a {status} work order cannot change"):
            check_update(status, {"priority"}, new_qty=None, qty_good=0)
        check_update(status, set(), new_qty=None, qty_good=0)  # an empty PATCH is harmless
