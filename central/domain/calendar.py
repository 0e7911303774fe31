"""Plant working calendar: when the plant works, and how long work takes in wall-clock terms.

Shifts are given in the plant's local time (an IANA zone, e.g. ``Europe/Paris``) and may cross
midnight (``end <= start``; ``end == start`` is a 24-hour shift). ``Shift.days`` are the
weekdays on which the shift *starts* (0 = Monday .. 6 = Sunday), so the Friday night shift that
ends on Saturday morning belongs to Friday. Breaks are local start times plus a duration in
minutes and must lie inside their shift. ``WorkingCalendar.closed_days`` are local dates on
which no shift starts (holidays, plant closure).

DST: a shift starts and ends at its local wall-clock times, so the night shift 22:00-06:00
works 9 hours on the night the clocks go back and 7 hours when they go forward; a wall time
that does not exist (the skipped hour) is read with the offset in force before the change
(``fold=0``), an ambiguous one as its first occurrence. Breaks last their minutes of elapsed
time. Everything returned is a UTC-aware ``datetime``; durations are elapsed (SI) seconds.

Public API::

    add_working_seconds(calendar, start, seconds) -> datetime
    working_seconds_between(calendar, start, end) -> float       (negative if end < start)
    next_working_instant(calendar, instant) -> datetime
    working_intervals(calendar, start, end) -> tuple[tuple[datetime, datetime], ...]
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from central.domain._checks import require_aware, require_non_negative
from central.domain.errors import CalendarError, InvalidInput

Interval = tuple[datetime, datetime]

ALL_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
DAY_S = 86_400
# A calendar that has had no working time for a year is broken (or fully closed): stop there
# instead of walking forever.
MAX_IDLE_DAYS = 366
# add_working_seconds refuses to walk further than this (ten years of calendar time).
MAX_HORIZON = timedelta(days=3653)


@dataclass(frozen=True)
class Break:
    """A break inside a shift: local start time and length in minutes (elapsed)."""

    start: time
    minutes: int


@dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time
    days: tuple[int, ...] = ALL_DAYS
    breaks: tuple[Break, ...] = ()

    def __post_init__(self) -> None:
        where = f"Shift[{self.name}]"
        if not self.days or any(d not in ALL_DAYS for d in self.days):
            raise InvalidInput(f"{where}.days", f"weekdays 0..6 expected, got {self.days!r}")
        for i, brk in enumerate(self.breaks):
            offset = _seconds_after(self.start, brk.start)
            if brk.minutes <= 0 or offset + brk.minutes * 60 > self.length_s:
                raise InvalidInput(
                    f"{where}.breaks[{i}]",
                    f"{brk.start.isoformat()} + {brk.minutes} min is not inside "
                    f"{self.start.isoformat()}-{self.end.isoformat()}",
                )

    @property
    def length_s(self) -> int:
        """Nominal length in seconds of wall-clock time (DST nights differ; see module doc)."""
        return _seconds_after(self.start, self.end) or DAY_S


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: str
    shifts: tuple[Shift, ...]
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(
                "WorkingCalendar.timezone", f"unknown zone {self.timezone!r}"
            ) from exc
        worked = [s for s in self.shifts if s.length_s > sum(b.minutes * 60 for b in s.breaks)]
        if not worked:
            raise InvalidInput("WorkingCalendar.shifts", "at least one shift with working time")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def always(cls, timezone: str = "UTC") -> WorkingCalendar:
        """A 24/7 calendar (one 24-hour shift every day, no breaks)."""
        return cls(timezone, (Shift("24/7", time(0), time(0)),))


def add_working_seconds(calendar: WorkingCalendar, start: datetime, seconds: float) -> datetime:
    """The instant at which ``seconds`` of working time starting at ``start`` are done.

    Non-working time is skipped. Adding 0 returns ``start`` itself (in UTC), even outside
    working time; otherwise the result always lies inside or at the end of a working interval.
    Raises CalendarError when the work would end more than ten years after ``start``.
    """
    require_aware("start", start)
    require_non_negative("seconds", seconds)
    if seconds > MAX_HORIZON.total_seconds():
        raise CalendarError(f"{seconds:.0f} s of work does not fit in the calendar horizon")
    remaining = timedelta(seconds=seconds)
    start = start.astimezone(UTC)
    if not remaining:
        return start
    for lo, hi in _intervals_from(calendar, start):
        if lo - start > MAX_HORIZON:
            break
        if remaining <= hi - lo:
            return lo + remaining
        remaining -= hi - lo
    raise CalendarError(f"{seconds:.0f} s of work does not fit in the calendar horizon")


def working_seconds_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Working seconds in ``[start, end)``; negative (antisymmetric) when ``end < start``."""
    require_aware("start", start)
    require_aware("end", end)
    if end < start:
        return -working_seconds_between(calendar, end, start)
    total = sum((hi - lo for lo, hi in working_intervals(calendar, start, end)), timedelta())
    return total.total_seconds()


def next_working_instant(calendar: WorkingCalendar, instant: datetime) -> datetime:
    """``instant`` itself if the plant works then, else the start of the next working time."""
    require_aware("instant", instant)
    for lo, _ in _intervals_from(calendar, instant.astimezone(UTC)):
        return lo
    raise CalendarError("the calendar has no working time")  # pragma: no cover - guarded above


def working_intervals(
    calendar: WorkingCalendar, start: datetime, end: datetime
) -> tuple[Interval, ...]:
    """Working intervals clipped to ``[start, end)``, in order, split at local midnights."""
    require_aware("start", start)
    require_aware("end", end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return ()
    out: list[Interval] = []
    tz = calendar.tz
    day = start.astimezone(tz).date()
    while _local_midnight(tz, day) < end:
        out.extend(_clip(_day_intervals(calendar, day), start, end))
        day += timedelta(days=1)
    return tuple(out)


def _intervals_from(calendar: WorkingCalendar, start: datetime) -> Iterator[Interval]:
    """Working intervals ending after ``start`` (the first one clipped to it), forever."""
    day = start.astimezone(calendar.tz).date()
    idle = 0
    while idle <= MAX_IDLE_DAYS:
        intervals = _day_intervals(calendar, day)
        idle = 0 if intervals else idle + 1
        for lo, hi in intervals:
            if hi > start:
                yield max(lo, start), hi
        day += timedelta(days=1)
    raise CalendarError(f"no working time in {MAX_IDLE_DAYS} consecutive days after {day}")


@functools.lru_cache(maxsize=8192)
def _day_intervals(calendar: WorkingCalendar, day: date) -> tuple[Interval, ...]:
    """Working time within the local day ``day`` (midnight to midnight), merged, in UTC.

    Only shifts starting on ``day`` or the day before can reach into it (a shift lasts at most
    24 h plus a DST hour). Cached: the calendar is frozen and the result depends on nothing else.
    """
    tz = calendar.tz
    pieces: list[Interval] = []
    for shift_day in (day - timedelta(days=1), day):
        if shift_day in calendar.closed_days:
            continue
        for shift in calendar.shifts:
            if shift_day.weekday() in shift.days:
                pieces.extend(_shift_work(tz, shift, shift_day))
    window_lo, window_hi = _local_midnight(tz, day), _local_midnight(tz, day + timedelta(days=1))
    return _union(_clip(pieces, window_lo, window_hi))


def _shift_work(tz: ZoneInfo, shift: Shift, day: date) -> list[Interval]:
    """One occurrence of ``shift`` starting on local ``day``, minus its breaks, in UTC."""
    wall_start = datetime.combine(day, shift.start)
    lo = _to_utc(wall_start, tz)
    hi = _to_utc(wall_start + timedelta(seconds=shift.length_s), tz)
    cuts = []
    for brk in shift.breaks:
        cut_lo = _to_utc(wall_start + timedelta(seconds=_seconds_after(shift.start, brk.start)), tz)
        cuts.append((cut_lo, cut_lo + timedelta(minutes=brk.minutes)))
    return _subtract([(lo, hi)] if hi > lo else [], cuts)


def _to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _local_midnight(tz: ZoneInfo, day: date) -> datetime:
    return _to_utc(datetime.combine(day, time(0)), tz)


def _seconds_after(origin: time, t: time) -> int:
    """Seconds from wall time ``origin`` forward to wall time ``t`` (0..86399)."""
    as_s = (
        (t.hour - origin.hour) * 3600 + (t.minute - origin.minute) * 60 + t.second - origin.second
    )
    return as_s % DAY_S


def _clip(intervals: Iterable[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def _union(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        elif hi > lo:
            merged.append((lo, hi))
    return tuple(merged)


def _subtract(intervals: list[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    for cut_lo, cut_hi in cuts:
        kept: list[Interval] = []
        for lo, hi in intervals:
            if cut_hi <= lo or cut_lo >= hi:
                kept.append((lo, hi))
                continue
            if lo < cut_lo:
                kept.append((lo, cut_lo))
            if cut_hi < hi:
                kept.append((cut_hi, hi))
        intervals = kept
    return intervals
