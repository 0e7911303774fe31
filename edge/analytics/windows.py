"""Report windows: local hours, local days, shift instances, or any list of ``[start, end)``.

Windows are parallel int64 ns arrays (sorted by start) plus an optional label (the shift name),
clipped to the requested period. Days are local days (23 h and 25 h on daylight-saving change
days); hours are local hours, so the repeated autumn hour is two windows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

import numpy as np

from edge.analytics.calendar import ShiftLike, local_dates, local_ns, shift_plan
from edge.analytics.intervals import I64, as_i64

HOUR_NS = 3600 * 1_000_000_000
BY_CHOICES = ("shift", "hour", "day")


@dataclass(frozen=True, slots=True, eq=False)
class Windows:
    starts: I64
    ends: I64
    labels: tuple[str | None, ...]

    def __len__(self) -> int:
        return int(self.starts.size)

    @classmethod
    def of(
        cls,
        starts: Sequence[int] | I64,
        ends: Sequence[int] | I64,
        labels: Sequence[str | None] = (),
    ) -> Windows:
        s, e = as_i64(starts), as_i64(ends)
        if s.shape != e.shape or bool(np.any(e < s)):
            raise ValueError("windows need as many ends as starts, each end >= its start")
        lab = tuple(labels) if labels else (None,) * s.size
        order = np.argsort(s, kind="stable")
        return cls(s[order], e[order], tuple(lab[i] for i in order.tolist()))


def _midnights(tz: ZoneInfo, start_ns: int, end_ns: int) -> I64:
    days = local_dates(start_ns, end_ns, tz)
    days.append(days[-1].fromordinal(days[-1].toordinal() + 1))
    return as_i64([local_ns(d, time(0), tz) for d in days])


def _clip(starts: I64, ends: I64, start_ns: int, end_ns: int) -> tuple[I64, I64]:
    s, e = np.maximum(starts, start_ns), np.minimum(ends, end_ns)
    keep = e > s
    return s[keep], e[keep]


def day_windows(tz: ZoneInfo, start_ns: int, end_ns: int) -> Windows:
    m = _midnights(tz, start_ns, end_ns)
    return Windows.of(*_clip(m[:-1], m[1:], start_ns, end_ns))


def hour_windows(tz: ZoneInfo, start_ns: int, end_ns: int) -> Windows:
    """Local hours. Each local day is cut every hour of elapsed time from its midnight, which
    lands on local hour boundaries for every zone whose offsets change by whole hours."""
    m = _midnights(tz, start_ns, end_ns)
    starts = np.concatenate(
        [np.arange(a, b, HOUR_NS, dtype=np.int64) for a, b in itertools.pairwise(m)]
    )
    ends = np.append(starts[1:], m[-1])
    return Windows.of(*_clip(starts, ends, start_ns, end_ns))


def shift_windows(shifts: Sequence[ShiftLike], tz: ZoneInfo, start_ns: int, end_ns: int) -> Windows:
    plan = shift_plan(shifts, tz, start_ns, end_ns)
    return Windows.of(plan.starts, plan.ends, plan.names)


def windows_by(
    by: str, shifts: Sequence[ShiftLike], tz: ZoneInfo, start_ns: int, end_ns: int
) -> Windows:
    """Windows for ``by`` in ``shift``, ``hour``, ``day``."""
    if end_ns <= start_ns:
        return Windows.of([], [])
    if by == "shift":
        return shift_windows(shifts, tz, start_ns, end_ns)
    if by == "hour":
        return hour_windows(tz, start_ns, end_ns)
    if by == "day":
        return day_windows(tz, start_ns, end_ns)
    raise ValueError(f"by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
