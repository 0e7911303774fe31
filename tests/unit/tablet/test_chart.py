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
