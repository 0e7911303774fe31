"""The plant's working calendar in central's settings: ``timezone``, ``shifts`` (same YAML shape
as the edge's ``shifts``) and ``closed_days``; planning walks ETAs through it.

```yaml
timezone: Europe/Paris          # shift times are local to it
shifts:
  - name: morning
    start: "06:00"
    end: "14:00"                # end <= start: the shift ends the next day
    days: [mon, tue, wed, thu, fri]   # days the shift starts on (default every day)
    breaks: [{start: "09:00", minutes: 15}]
closed_days: [2026-12-25]       # local dates on which no shift starts
```
Without ``shifts`` the plant works 24/7 (in ``timezone``).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from central.domain.calendar import Break, Shift, WorkingCalendar
from central.domain.errors import InvalidInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time_of_day(value: Any) -> Any:
    if isinstance(value, str) and value.strip() == "24:00":
        return time(0)  # as an end of shift: midnight
    return value


def _weekday(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower()[:3] in DAY_NAMES:
        return DAY_NAMES.index(value.strip().lower()[:3])
    return value


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Weekday = Annotated[int, BeforeValidator(_weekday), Field(ge=0, le=6)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakSettings(_Frozen):
    start: TimeOfDay
    minutes: int = Field(gt=0, le=24 * 60)


class ShiftSettings(_Frozen):
    name: str = Field(min_length=1, max_length=100)
    start: TimeOfDay
    end: TimeOfDay
    days: tuple[Weekday, ...] = Field(default=(0, 1, 2, 3, 4, 5, 6), min_length=1)
    breaks: tuple[BreakSettings, ...] = ()

    def to_shift(self) -> Shift:
        """The domain's shift; :class:`InvalidInput` when a break lies outside the shift."""
        return Shift(
            self.name,
            self.start,
            self.end,
            tuple(sorted(set(self.days))),
            tuple(Break(b.start, b.minutes) for b in self.breaks),
        )


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a known IANA time zone") from exc
    return value


def _check_shifts(shifts: tuple[ShiftSettings, ...]) -> tuple[ShiftSettings, ...]:
    for i, shift in enumerate(shifts):
        try:
            shift.to_shift()
        except InvalidInput as exc:
            raise ValueError(f"shifts[{i}] ({shift.name}): {exc}") from exc
    return shifts


Timezone = Annotated[str, AfterValidator(_check_timezone)]
Shifts = Annotated[tuple[ShiftSettings, ...], AfterValidator(_check_shifts)]


def working_calendar(
    timezone: str, shifts: tuple[ShiftSettings, ...], closed_days: tuple[date, ...] = ()
) -> WorkingCalendar:
    """The plant calendar planning uses (24/7 in ``timezone`` when no shift is given)."""
    domain_shifts = (
        tuple(s.to_shift() for s in shifts) if shifts else WorkingCalendar.always().shifts
    )
    return WorkingCalendar(timezone, domain_shifts, frozenset(closed_days))
