"""Working calendar: worked examples (weekend, DST both ways, breaks, closures) and properties
against a brute-force reference that tests every minute by the definitions alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.domain.calendar import (
    Break,
    Shift,
    WorkingCalendar,
    add_working_seconds,
    next_working_instant,
    working_intervals,
    working_seconds_between,
)
from central.domain.errors import CalendarError, DomainError, InvalidInput
from tests.unit.central_domain.factories import TWO_SHIFTS, paris, utc

NIGHTS = WorkingCalendar("Europe/Paris", (Shift("night", time(22), time(6)),))
H = 3600


def test_a_weekday_of_two_shifts_is_15_hours_and_a_week_75() -> None:
    monday = paris(2026, 10, 19)
    assert working_seconds_between(TWO_SHIFTS, monday, monday + timedelta(days=1)) == 15 * H
    assert working_seconds_between(TWO_SHIFTS, monday, monday + timedelta(days=7)) == 75 * H


def test_add_skips_the_weekend_and_follows_the_dst_change() -> None:
    # Friday 23 Oct 2026 21:00 CEST (19:00Z) + 2 h: 1 h until 22:00 on Friday, then the
    # weekend (clocks go back on Sunday 25th), then 1 h from Monday 06:00 CET = 05:00Z.
    # A calendar that kept the summer offset would answer 05:00Z.
    start = paris(2026, 10, 23, 21)
    assert add_working_seconds(TWO_SHIFTS, start, 2 * H) == utc(2026, 10, 26, 6)
    assert add_working_seconds(TWO_SHIFTS, start, 1 * H) == utc(2026, 10, 23, 20)  # 22:00 Fri


def test_add_skips_breaks() -> None:
    # Monday 09:30 + 1 h: 30 min to 10:00, break to 10:30, 30 min more → 11:00 CEST = 09:00Z.
    assert add_working_seconds(TWO_SHIFTS, paris(2026, 10, 19, 9, 30), H) == utc(2026, 10, 19, 9)


def test_add_zero_returns_start_even_outside_working_time() -> None:
    saturday = paris(2026, 10, 24, 12)
    assert add_working_seconds(TWO_SHIFTS, saturday, 0) == saturday
    assert add_working_seconds(TWO_SHIFTS, saturday, 0).tzinfo is UTC


def test_next_working_instant() -> None:
    assert next_working_instant(TWO_SHIFTS, paris(2026, 10, 24, 12)) == utc(2026, 10, 26, 5)
    inside = paris(2026, 10, 19, 7, 15)
    assert next_working_instant(TWO_SHIFTS, inside) == inside
    assert next_working_instant(TWO_SHIFTS, paris(2026, 10, 19, 10, 5)) == utc(2026, 10, 19, 8, 30)


def test_night_shift_is_9_hours_when_clocks_go_back_and_7_when_they_go_forward() -> None:
    autumn = working_seconds_between(NIGHTS, paris(2026, 10, 24, 12), paris(2026, 10, 25, 12))
    spring = working_seconds_between(NIGHTS, paris(2026, 3, 28, 12), paris(2026, 3, 29, 12))
    normal = working_seconds_between(NIGHTS, paris(2026, 3, 21, 12), paris(2026, 3, 22, 12))
    assert (autumn, spring, normal) == (9 * H, 7 * H, 8 * H)
    # 22:00 CEST = 20:00Z; 9 working hours later is 06:00 CET = 05:00Z.
    assert add_working_seconds(NIGHTS, paris(2026, 10, 24, 22), 9 * H) == utc(2026, 10, 25, 5)


def test_shift_starting_in_the_skipped_hour_uses_the_offset_before_the_change() -> None:
    # 02:30 does not exist on 29 Mar 2026 in Paris: read as 02:30 CET = 01:30Z (= 03:30 CEST);
    # the shift still ends at 10:30 CEST = 08:30Z, so it works 7 h that day.
    cal = WorkingCalendar("Europe/Paris", (Shift("odd", time(2, 30), time(10, 30), (6,)),))
    assert working_intervals(cal, paris(2026, 3, 29), paris(2026, 3, 30)) == (
        (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 8, 30)),
    )


def test_break_after_midnight_in_a_night_shift() -> None:
    cal = WorkingCalendar(
        "UTC", (Shift("night", time(22), time(6), (4,), (Break(time(2), 30),)),)
    )  # Friday nights only
    assert working_intervals(cal, utc(2026, 10, 23), utc(2026, 10, 25)) == (
        (utc(2026, 10, 23, 22), utc(2026, 10, 24, 0)),
        (utc(2026, 10, 24, 0), utc(2026, 10, 24, 2)),
        (utc(2026, 10, 24, 2, 30), utc(2026, 10, 24, 6)),
    )


def test_closed_days_do_not_start_shifts() -> None:
    cal = WorkingCalendar("Europe/Paris", TWO_SHIFTS.shifts, frozenset({date(2026, 10, 26)}))
    # As in the weekend example, but Monday is closed: Tuesday 06:00 CET + 1 h = 06:00Z.
    assert add_working_seconds(cal, paris(2026, 10, 23, 21), 2 * H) == utc(2026, 10, 27, 6)


def test_overlapping_shifts_are_not_counted_twice() -> None:
    cal = WorkingCalendar("UTC", (Shift("a", time(6), time(14)), Shift("b", time(12), time(20))))
    assert working_seconds_between(cal, utc(2026, 1, 5), utc(2026, 1, 6)) == 14 * H


def test_always_calendar_counts_elapsed_time_across_dst() -> None:
    cal = WorkingCalendar.always("Europe/Paris")
    assert working_seconds_between(cal, paris(2026, 10, 25), paris(2026, 10, 26)) == 25 * H


def test_intervals_of_an_empty_or_inverted_range_are_empty() -> None:
    a = paris(2026, 10, 19, 8)
    assert working_intervals(TWO_SHIFTS, a, a) == ()
    assert working_intervals(TWO_SHIFTS, a + timedelta(hours=1), a) == ()


def test_between_is_antisymmetric() -> None:
    a, b = paris(2026, 10, 19, 8), paris(2026, 10, 20, 8)
    assert working_seconds_between(TWO_SHIFTS, b, a) == -working_seconds_between(TWO_SHIFTS, a, b)
    assert working_seconds_between(TWO_SHIFTS, a, b) == 15 * H


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: WorkingCalendar("Mars/Olympus", TWO_SHIFTS.shifts), "WorkingCalendar.timezone"),
        (lambda: Shift("x", time(6), time(8), (7,)), "Shift[x].days"),
        (
            lambda: Shift("x", time(6), time(8), breaks=(Break(time(7, 45), 30),)),
            "Shift[x].breaks[0]",
        ),
        (lambda: Shift("x", time(6), time(8), breaks=(Break(time(5), 10),)), "Shift[x].breaks[0]"),
        (
            lambda: WorkingCalendar(
                "UTC", (Shift("x", time(6), time(7), breaks=(Break(time(6), 60),)),)
            ),
            "WorkingCalendar.shifts",
        ),
        (lambda: WorkingCalendar("UTC", ()), "WorkingCalendar.shifts"),
    ],
)
def test_bad_calendar_is_refused_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        build()  # type: ignore[operator]
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_naive_instants_and_negative_work_are_refused() -> None:
    with pytest.raises(InvalidInput, match="start"):
        add_working_seconds(TWO_SHIFTS, datetime(2026, 10, 19, 8), 10)
    with pytest.raises(InvalidInput, match="seconds"):
        add_working_seconds(TWO_SHIFTS, utc(2026, 10, 19), -1)
    with pytest.raises(DomainError, match="end"):
        working_seconds_between(TWO_SHIFTS, utc(2026, 10, 19), datetime(2026, 10, 20))


def test_work_beyond_the_horizon_is_a_calendar_error() -> None:
    with pytest.raises(CalendarError):
        add_working_seconds(TWO_SHIFTS, utc(2026, 10, 19), 11 * 365 * 86_400)


def test_a_calendar_closed_for_more_than_a_year_is_a_calendar_error() -> None:
    closed = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(400))
    cal = WorkingCalendar("UTC", (Shift("day", time(8), time(16)),), closed)
    with pytest.raises(CalendarError, match="no working time"):
        add_working_seconds(cal, utc(2026, 1, 1), 60)


# --- properties ----------------------------------------------------------------------------

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]
# Instants near the 2026 DST changes of the zones above (and one quiet week).
ANCHORS = [
    utc(2026, 3, 28),
    utc(2026, 10, 24),
    utc(2026, 3, 7),
    utc(2026, 10, 31),
    utc(2026, 4, 4),
    utc(2026, 6, 10),
]


@st.composite
def shifts(draw: st.DrawFn) -> Shift:
    start_min = draw(st.integers(0, 95)) * 15
    length_min = draw(st.integers(4, 96)) * 15
    end_min = (start_min + length_min) % 1440
    breaks = []
    for _ in range(draw(st.integers(0, 2))):
        minutes = draw(st.integers(5, 45))
        offset = draw(st.integers(0, length_min - minutes))
        at = (start_min + offset) % 1440
        breaks.append(Break(time(at // 60, at % 60), minutes))
    days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    return Shift(
        "s",
        time(start_min // 60, start_min % 60),
        time(end_min // 60, end_min % 60),
        tuple(sorted(days)),
        tuple(breaks),
    )


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    # The first shift runs every day so that the calendar is never empty.
    first = draw(shifts())
    first = Shift(first.name, first.start, first.end, breaks=())
    return WorkingCalendar(
        draw(st.sampled_from(ZONES)), (first, *draw(st.lists(shifts(), max_size=2)))
    )


def _reference_is_working(cal: WorkingCalendar, t: datetime) -> bool:
    """By definition: some shift occurrence covers t and none of its breaks does."""
    tz = cal.tz
    local_day = t.astimezone(tz).date()
    for back in (0, 1, 2):
        day = local_day - timedelta(days=back)
        for shift in cal.shifts:
            if day.weekday() not in shift.days or day in cal.closed_days:
                continue
            wall = datetime.combine(day, shift.start)
            lo = wall.replace(tzinfo=tz).astimezone(UTC)
            hi = (wall + timedelta(seconds=shift.length_s)).replace(tzinfo=tz).astimezone(UTC)
            if not lo <= t < hi:
                continue
            in_break = False
            for brk in shift.breaks:
                offset = datetime.combine(day, brk.start) - datetime.combine(day, shift.start)
                b_wall = wall + timedelta(seconds=offset.total_seconds() % 86_400)
                b_lo = b_wall.replace(tzinfo=tz).astimezone(UTC)
                in_break = in_break or b_lo <= t < b_lo + timedelta(minutes=brk.minutes)
            if not in_break:
                return True
    return False


@settings(max_examples=25, deadline=None)
@given(cal=calendars(), anchor=st.sampled_from(ANCHORS), span_min=st.integers(1, 2 * 1440))
def test_between_matches_a_minute_by_minute_reference(
    cal: WorkingCalendar, anchor: datetime, span_min: int
) -> None:
    # All boundaries fall on whole minutes (15-minute shift grid, whole-minute breaks and
    # zone offsets), so testing the first second of each minute is exact.
    expected = sum(
        60 for m in range(span_min) if _reference_is_working(cal, anchor + timedelta(minutes=m))
    )
    assert working_seconds_between(cal, anchor, anchor + timedelta(minutes=span_min)) == expected


@settings(max_examples=150, deadline=None)
@given(
    cal=calendars(),
    anchor=st.sampled_from(ANCHORS),
    offset_s=st.integers(0, 7 * 86_400),
    seconds=st.integers(0, 20 * 86_400),
)
def test_adding_working_seconds_then_measuring_them_is_identity(
    cal: WorkingCalendar, anchor: datetime, offset_s: int, seconds: int
) -> None:
    start = anchor + timedelta(seconds=offset_s)
    end = add_working_seconds(cal, start, seconds)
    assert end >= start
    assert working_seconds_between(cal, start, end) == seconds


@settings(max_examples=100, deadline=None)
@given(
    cal=calendars(),
    anchor=st.sampled_from(ANCHORS),
    a=st.integers(0, 5 * 86_400),
    b=st.integers(0, 5 * 86_400),
)
def test_adding_in_two_steps_equals_adding_at_once_and_is_monotone(
    cal: WorkingCalendar, anchor: datetime, a: int, b: int
) -> None:
    once = add_working_seconds(cal, anchor, a + b)
    assert add_working_seconds(cal, add_working_seconds(cal, anchor, a), b) == once
    assert add_working_seconds(cal, anchor, min(a, b)) <= add_working_seconds(
        cal, anchor, max(a, b)
    )


@settings(max_examples=50, deadline=None)
@given(cal=calendars(), anchor=st.sampled_from(ANCHORS), seconds=st.floats(0.0, 3 * 86_400.0))
def test_fractional_seconds_round_trip_to_the_microsecond(
    cal: WorkingCalendar, anchor: datetime, seconds: float
) -> None:
    end = add_working_seconds(cal, anchor, seconds)
    assert working_seconds_between(cal, anchor, end) == pytest.approx(seconds, abs=1e-6)
