from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.tablet.chart import PLOT_H, PLOT_TOP, WIDTH, geometry
from edge.tablet.models import ShiftSeries, StateSegment

T0 = datetime(2026, 1, 5, 6, tzinfo=UTC)


def test_geometry_scales_states_and_counts() -> None:
    series = ShiftSeries(
        start=T0,
        end=T0 + timedelta(hours=8),
        now=T0 + timedelta(hours=2),
        ideal_cycle_s=10,
        segments=(
            StateSegment(T0, T0 + timedelta(hours=1), "running"),
            StateSegment(T0 + timedelta(hours=1), T0 + timedelta(hours=2), "stopped"),
        ),
        good_points=((T0, 0), (T0 + timedelta(hours=2), 360)),
    )
    g = geometry(series)
    assert [(r.x, r.width, r.state) for r in g.rects] == [
        (0, 125, "running"),
        (125, 125, "stopped"),
    ]
    assert g.ideal_now == 720 and g.good_now == 360 and g.y_max == 720
    assert g.now_x == WIDTH / 4
    assert g.ideal == (0.0, PLOT_TOP + PLOT_H, WIDTH / 4, PLOT_TOP)
    assert g.good_points == f"0.0,{PLOT_TOP + PLOT_H} 250.0,{PLOT_TOP + PLOT_H / 2}"


def test_empty_series_is_drawable() -> None:
    g = geometry(ShiftSeries(start=T0, end=T0, now=T0, ideal_cycle_s=1))
    assert g.rects == () and g.good_points == "" and g.y_max == 1


def test_ideal_starts_when_the_edge_first_saw_the_machine() -> None:
    series = ShiftSeries(
        start=T0,
        end=T0 + timedelta(hours=8),
        now=T0 + timedelta(hours=4),
        ideal_cycle_s=10,
        observed_from=T0 + timedelta(hours=3),
    )
    g = geometry(series)
    assert g.ideal_now == 360 and g.ideal[0] == WIDTH * 3 / 8


def test_recent_window_fills_the_chart_with_ticks_in_seconds() -> None:
    """No shift: the window ends now, so the timeline and both lines reach the right edge."""
    now = T0 + timedelta(seconds=40)
    series = ShiftSeries(
        start=T0,
        end=now,
        now=now,
        ideal_cycle_s=0.5,
        segments=(StateSegment(T0, now, "running"),),
        good_points=((T0, 0), (now, 60)),
        observed_from=T0,
    )
    g = geometry(series)
    assert [(r.x, r.width) for r in g.rects] == [(0.0, WIDTH)]
    assert (
        g.now_x == WIDTH
        and g.ideal[2] == WIDTH
        and g.good_points.endswith(f"{WIDTH},{PLOT_TOP + PLOT_H / 4}")  # 60 of 80
    )
    assert g.ideal_now == 80 and g.shift is None and g.seconds
    assert [(tk.x, tk.at, tk.anchor) for tk in g.ticks] == [
        (0.0, T0, "start"),
        (WIDTH / 2, T0 + timedelta(seconds=20), "middle"),
        (WIDTH, now, "end"),
    ]


def test_shift_window_is_labelled_with_the_shift() -> None:
    series = ShiftSeries(
        start=T0,
        end=T0 + timedelta(hours=8),
        now=T0 + timedelta(hours=1),
        ideal_cycle_s=1,
        shift="morning",
    )
    g = geometry(series)
    assert g.shift == "morning" and not g.seconds and g.ticks[-1].at == series.end
