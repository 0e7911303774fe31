"""Errors of the operator tablet.

::

    TabletError
    ├── UnknownMachine        no machine with that id on this edge
    ├── UnknownOrder          the order is not in the machine's dispatch list
    ├── UnknownStop           the stop does not exist or already has a reason
    ├── InvalidAction         an action that the current state does not allow (e.g. pause an
    │                         order that is not running); ``.key`` names the catalogue message
    ├── InvalidInput          a form field that cannot be used; ``.field`` names it
    └── StoreUnavailable      the declaration could not be stored: nothing was confirmed
"""

from __future__ import annotations


class TabletError(Exception):
    """Base of the tablet's errors. ``message_key`` is an i18n catalogue key."""

    message_key = "error.generic"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.message_key)
        self.detail = detail
        self.params = params


class UnknownMachine(TabletError):
    message_key = "error.unknown_machine"


class UnknownOrder(TabletError):
    message_key = "error.unknown_order"


class UnknownStop(TabletError):
    message_key = "error.unknown_stop"


class InvalidAction(TabletError):
    message_key = "error.invalid_action"

    def __init__(self, key: str, detail: str = "", **params: object) -> None:
        super().__init__(detail or key, **params)
        self.message_key = key


class InvalidInput(TabletError):
    message_key = "error.invalid_input"

    def __init__(self, field: str, detail: str = "", **params: object) -> None:
        super().__init__(detail or f"invalid {field}", field=field, **params)
        self.field = field


class StoreUnavailable(TabletError):
    message_key = "error.store_unavailable"
