"""Geometry of the shift chart (rendered as inline SVG by the template), pure.

Top band: the state timeline, one rectangle per state interval. Below: cumulative good count
(polyline) against the ideal (straight line from 0 where the edge first saw the machine to what
an ideal machine would have made by now: elapsed / ideal_cycle_s). The times at the start, middle
and end of the window and the top of the count scale are HTML text around the SVG (``ticks``,
``y_max``, ``plot_top_pct``), so they keep their size whatever the chart's width. Coordinates
are SVG user units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.tablet.models import ShiftSeries

WIDTH = 1000.0
BAND_H = 40.0
PLOT_TOP = 56.0
PLOT_H = 200.0
HEIGHT = PLOT_TOP + PLOT_H + 4.0
SHORT = timedelta(minutes=10)  # windows shorter than this label their ticks with seconds


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    width: float
    state: str


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    at: datetime
    anchor: str  # where the label sits on its time: start | middle | end


@dataclass(frozen=True, slots=True)
class ChartGeometry:
    rects: tuple[Rect, ...]
    good_points: str  # "x,y x,y ..." for <polyline points=...>
    ideal: tuple[float, float, float, float]  # x1 y1 x2 y2
    now_x: float
    y_max: int
    good_now: int
    ideal_now: int
    start: datetime
    end: datetime
    ticks: tuple[Tick, ...] = ()
    shift: str | None = None  # None: no shift running, the window is the recent past
    seconds: bool = False  # short window: times are shown with seconds
    width: float = WIDTH
    height: float = HEIGHT
    band_h: float = BAND_H
    plot_top: float = PLOT_TOP
    plot_h: float = PLOT_H

    @property
    def plot_top_pct(self) -> float:
        """Top of the count plot, in % of the chart's height (where the y_max label goes)."""
        return round(100 * self.plot_top / self.height, 1)


def _x(series: ShiftSeries, when: datetime) -> float:
    span = (series.end - series.start).total_seconds()
    if span <= 0:
        return 0.0
    frac = (when - series.start).total_seconds() / span
    return round(WIDTH * min(1.0, max(0.0, frac)), 1)


def _ticks(series: ShiftSeries) -> tuple[Tick, ...]:
    if series.end <= series.start:
        return ()
    middle = series.start + (series.end - series.start) / 2
    return (
        Tick(0.0, series.start, "start"),
        Tick(WIDTH / 2, middle, "middle"),
        Tick(WIDTH, series.end, "end"),
    )


def geometry(series: ShiftSeries) -> ChartGeometry:
    origin = max(series.start, series.observed_from or series.start)
    elapsed_s = max(0.0, (min(series.now, series.end) - origin).total_seconds())
    ideal_now = int(elapsed_s / series.ideal_cycle_s) if series.ideal_cycle_s > 0 else 0
    good_now = series.good_points[-1][1] if series.good_points else 0
    y_max = max(1, ideal_now, good_now)

    def y(count: float) -> float:
        return round(PLOT_TOP + PLOT_H * (1 - count / y_max), 1)

    rects = tuple(
        Rect(
            x=_x(series, seg.start),
            width=max(0.5, _x(series, seg.end) - _x(series, seg.start)),
            state=seg.state,
        )
        for seg in series.segments
        if seg.end > seg.start
    )
    points = " ".join(f"{_x(series, t)},{y(n)}" for t, n in series.good_points)
    now_x = _x(series, series.now)
    return ChartGeometry(
        rects=rects,
        good_points=points,
        ideal=(_x(series, origin), y(0), now_x, y(ideal_now)),
        now_x=now_x,
        y_max=y_max,
        good_now=good_now,
        ideal_now=ideal_now,
        start=series.start,
        end=series.end,
        ticks=_ticks(series),
        shift=series.shift,
        seconds=series.end - series.start < SHORT,
    )
