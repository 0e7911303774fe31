"""Shift calendar in local time → planned and break intervals in UTC ns.

Shifts are written in the edge's local time zone (``zoneinfo``): a shift ``22:00–06:00`` ends the
next day, and on the night clocks go back (25 h day) it lasts 9 h; on the 23 h day it lasts 7 h.
A local time that does not exist (inside the spring-forward gap) is read with the offset before
the change; an ambiguous one (autumn) is its first occurrence (``fold=0``). A break starts at its
local time on the shift's day, or the next day when it is earlier than the shift start (a night
shift), lasts ``minutes`` of elapsed time and is clipped to its shift.

Loops here run over calendar days and shifts, never over samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from edge.analytics.intervals import Intervals, as_i64

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
ONE_DAY = timedelta(days=1)


class BreakLike(Protocol):
    """A break of a shift (``edge.config.BreakConfig`` fits)."""

    @property
    def start(self) -> time: ...
    @property
    def minutes(self) -> int: ...


class ShiftLike(Protocol):
    """A shift (``edge.config.ShiftConfig`` fits). ``days``: 0 = Monday … 6 = Sunday."""

    @property
    def name(self) -> str: ...
    @property
    def start(self) -> time: ...
    @property
    def end(self) -> time: ...
    @property
    def days(self) -> Sequence[int]: ...
    @property
    def breaks(self) -> Sequence[BreakLike]: ...


@dataclass(frozen=True, slots=True)
class BreakSpec:
    start: time
    minutes: int


@dataclass(frozen=True, slots=True)
class ShiftSpec:
    name: str
    start: time
    end: time
    days: tuple[int, ...] = ALL_DAYS
    breaks: tuple[BreakSpec, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, eq=False)
class ShiftPlan:
    """The calendar over a period: shift instances, their planned time and their breaks."""

    names: tuple[str, ...]  # one per instance, sorted by start
    starts: np.ndarray[tuple[int], np.dtype[np.int64]]
    ends: np.ndarray[tuple[int], np.dtype[np.int64]]
    planned: Intervals  # shift time minus breaks, clipped to the period
    breaks: Intervals


def to_ns(moment: datetime) -> int:
    """An aware datetime as int64 UTC nanoseconds (exact, no float)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1000)


def local_ns(day: date, at: time, tz: ZoneInfo) -> int:
    return to_ns(datetime.combine(day, at, tzinfo=tz))


def local_dates(start_ns: int, end_ns: int, tz: ZoneInfo) -> list[date]:
    """Every local date touching ``[start_ns, end_ns)``, plus the day before (night shifts)."""
    first = from_ns(start_ns).astimezone(tz).date() - ONE_DAY
    last = from_ns(max(end_ns - 1, start_ns)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def shift_plan(shifts: Sequence[ShiftLike], tz: ZoneInfo, start_ns: int, end_ns: int) -> ShiftPlan:
    """Shift instances, planned time and breaks overlapping ``[start_ns, end_ns)``."""
    inst: list[tuple[int, int, str]] = []
    brk_s: list[int] = []
    brk_e: list[int] = []
    for day in local_dates(start_ns, end_ns, tz):
        for shift in shifts:
            if day.weekday() not in shift.days:
                continue
            s = local_ns(day, shift.start, tz)
            end_day = day + ONE_DAY if shift.end <= shift.start else day
            e = local_ns(end_day, shift.end, tz)
            if e <= start_ns or s >= end_ns:
                continue
            inst.append((max(s, start_ns), min(e, end_ns), shift.name))
            for b in shift.breaks:
                b_day = day + ONE_DAY if b.start < shift.start else day
                bs = local_ns(b_day, b.start, tz)
                brk_s.append(max(bs, s))
                brk_e.append(min(bs + b.minutes * 60 * 1_000_000_000, e))
    inst.sort()
    starts = as_i64([i[0] for i in inst])
    ends = as_i64([i[1] for i in inst])
    shift_time = Intervals.of(starts, ends)
    breaks = Intervals.of(brk_s, brk_e).intersect(shift_time)
    return ShiftPlan(tuple(i[2] for i in inst), starts, ends, shift_time.minus(breaks), breaks)
