"""Small builders for the domain tests (defaults that keep each test about one thing)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from central.domain.calendar import Break, Shift, WorkingCalendar
from central.domain.orders import OpenOrder

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = (0, 1, 2, 3, 4)
# Two shifts Monday to Friday, 15 working hours a day:
# 06:00-10:00, 10:30-14:00 | 14:00-18:00, 18:30-22:00 (local time, Europe/Paris).
TWO_SHIFTS = WorkingCalendar(
    "Europe/Paris",
    (
        Shift("early", time(6), time(14), WEEKDAYS, (Break(time(10), 30),)),
        Shift("late", time(14), time(22), WEEKDAYS, (Break(time(18), 30),)),
    ),
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Local wall time in Paris (first occurrence if ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def wo(number: str, **fields: Any) -> OpenOrder:
    """A released 100-unit order on press-01 at 1 s/part unless told otherwise."""
    values: dict[str, Any] = {
        "item": "bracket",
        "machine": "press-01",
        "status": "released",
        "qty": 100.0,
        "ideal_cycle_s": 1.0,
    }
    values.update(fields)
    return OpenOrder(number=number, **values)
