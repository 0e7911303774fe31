"""Errors of the planning domain.

One tree, rooted at :class:`DomainError` (a ``ValueError``, so callers that only know "bad
input" still catch it)::

    DomainError
     ├── InvalidInput      a field of an input dataclass is out of range; the message names it
     └── CalendarError     the working calendar cannot place the requested work
"""

from __future__ import annotations


class DomainError(ValueError):
    """Base of every error raised by ``central.domain``."""


class InvalidInput(DomainError):
    """An input value is out of range; ``field`` names it (``"OpenOrder[WO-1].qty"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CalendarError(DomainError):
    """The working calendar has no working time where some is needed."""
