"""Config of the shift calendar: shifts in the edge's local time, their days and breaks.

Re-exported by :mod:`edge.config`. Times of day are local to ``edge.timezone`` (the calendar
turns them into UTC intervals, daylight-saving days included); a shift whose ``end`` is not after
its ``start`` ends the next day and belongs to the day it starts on. Written in YAML as quoted
``"HH:MM"`` strings (``"24:00"`` is accepted as an end: midnight).
"""

from __future__ import annotations

import itertools
import re
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from edge.config_sources import Frozen, Loc, Problems, show

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _time_of_day(value: Any) -> Any:
    if isinstance(value, time):
        return value
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if (hour, minute, second) == (24, 0, 0):
            return time(0)  # "24:00" as an end of shift: midnight
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise ValueError(f'has value {show(value)}. Must be a time of day "HH:MM", 00:00 to 23:59')


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)


def _weekday(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 6 else None
    if isinstance(value, str):
        name = value.strip().lower()
        for index, day in enumerate(DAY_NAMES):
            if name in (day, day[:3]):
                return index
    return None


def _weekdays(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        return value
    if not value:
        raise ValueError("is empty. List the days the shift starts on, or leave days out")
    days = [_weekday(item) for item in value]
    problems: list[tuple[Loc, str]] = [
        ((i,), f"has value {show(item)}. Must be a day: mon..sun or 0 (Monday) to 6 (Sunday)")
        for i, (item, day) in enumerate(zip(value, days, strict=True))
        if day is None
    ]
    if problems:
        raise Problems(problems)
    return tuple(sorted({day for day in days if day is not None}))


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class BreakConfig(Frozen):
    start: TimeOfDay
    minutes: int = Field(gt=0, le=24 * 60)


class ShiftConfig(Frozen):
    """A shift from ``start`` to ``end`` local time; ``end <= start`` means it ends the next day.
    ``days`` are the days it *starts* on (0 = Monday); breaks lie inside the shift."""

    name: str = Field(min_length=1)
    start: TimeOfDay
    end: TimeOfDay
    days: Annotated[tuple[int, ...], BeforeValidator(_weekdays)] = ALL_DAYS
    breaks: tuple[BreakConfig, ...] = ()

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def length_s(self) -> int:
        """Nominal length (a DST change makes the real one an hour shorter or longer)."""
        return (_seconds(self.end) - _seconds(self.start)) % 86400 or 86400

    def offset_s(self, t: time) -> int:
        """Seconds from the shift start to the time of day ``t`` (within the next 24 h)."""
        return (_seconds(t) - _seconds(self.start)) % 86400

    @model_validator(mode="after")
    def _breaks_fit(self) -> ShiftConfig:
        problems: list[tuple[Loc, str]] = []
        inside: list[tuple[int, int]] = []
        for i, brk in enumerate(self.breaks):
            if self.offset_s(brk.start) + brk.minutes * 60 > self.length_s:
                problems.append(
                    (
                        ("breaks", i, "start"),
                        f"has value '{brk.start:%H:%M}' ({brk.minutes} min),"
                        f" not inside the shift {self.start:%H:%M}-{self.end:%H:%M}",
                    )
                )
            else:
                inside.append((self.offset_s(brk.start), i))
        inside.sort()
        for (prev_off, prev), (off, i) in itertools.pairwise(inside):
            prev_break = self.breaks[prev]
            if off < prev_off + prev_break.minutes * 60:
                problems.append(
                    (
                        ("breaks", i, "start"),
                        f"has value '{self.breaks[i].start:%H:%M}', which overlaps the break "
                        f"at {prev_break.start:%H:%M} ({prev_break.minutes} min)",
                    )
                )
        if problems:
            raise Problems(problems)
        return self


_WEEK_S = 7 * 86400


def _overlap(a: ShiftConfig, a_day: int, b: ShiftConfig, b_day: int) -> bool:
    """Do shift ``a`` started on ``a_day`` and ``b`` started on ``b_day`` share time? (On the
    circle of a week, so a Sunday night shift meets Monday morning.)"""
    a0 = a_day * 86400 + _seconds(a.start)
    b0 = b_day * 86400 + _seconds(b.start)
    return (b0 - a0) % _WEEK_S < a.length_s or (a0 - b0) % _WEEK_S < b.length_s


def check_no_overlap(shifts: tuple[ShiftConfig, ...]) -> None:
    """Raise :class:`Problems` at ``[j].start`` for each shift overlapping an earlier one: the
    time they share would be planned (and its output reported) twice."""
    problems: list[tuple[Loc, str]] = []
    for j, later in enumerate(shifts):
        clash = next(
            (
                (earlier, day)
                for earlier in shifts[:j]
                for day in later.days
                for earlier_day in earlier.days
                if _overlap(earlier, earlier_day, later, day)
            ),
            None,
        )
        if clash is not None:
            earlier, day = clash
            problems.append(
                (
                    (j, "start"),
                    f"has value '{later.start:%H:%M}': shift {later.name!r} starting "
                    f"{DAY_NAMES[day][:3]} overlaps shift {earlier.name!r} "
                    f"({earlier.start:%H:%M}-{earlier.end:%H:%M}); time would be planned twice",
                )
            )
    if problems:
        raise Problems(problems)
