"""A small plant for the in-memory tablet services: three machines, orders, stops, specs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from edge.tablet.auth import OperatorAccount, OperatorDirectory, hash_secret
from edge.tablet.memory import MemoryMachine, MemoryTabletServices
from edge.tablet.models import (
    DispatchEntry,
    MachineTile,
    Oee,
    OrderChange,
    OrderStatus,
    PendingStop,
    QualitySpec,
    Reason,
    ShiftSeries,
    StateSegment,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SHIFT_START = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
FAST = {"n": 2**10, "r": 8, "p": 1}  # cheap scrypt: tests hash many secrets

STOP_REASONS = (
    Reason(
        "mech",
        {"en": "Mechanical", "fr": "Mécanique"},
        (
            Reason("mech.jam", {"en": "Jam", "fr": "Bourrage"}),
            Reason("mech.tool", {"en": "Tool change", "fr": "Changement d’outil"}),
        ),
    ),
    Reason(
        "org",
        {"en": "Organisation", "fr": "Organisation"},
        (
            Reason("org.material", {"en": "No material", "fr": "Manque matière"}),
            Reason("org.operator", {"en": "No operator", "fr": "Pas d’opérateur"}),
        ),
    ),
)
SCRAP_REASONS = (
    Reason("burr", {"en": "Burr", "fr": "Bavure"}),
    Reason("dimension", {"en": "Out of dimension", "fr": "Hors cote"}),
    Reason("surface", {"en": "Surface defect", "fr": "Défaut d’aspect"}),
)


def operators() -> OperatorDirectory:
    return OperatorDirectory(
        [
            OperatorAccount(
                "op-17",
                "Alice Martin",
                hash_secret("1234", **FAST),
                hash_secret("BADGE-0017", **FAST),
            ),
            OperatorAccount("op-23", "Bruno Petit", hash_secret("9876", **FAST)),
        ]
    )


def _series(ideal_cycle_s: float, good_per_hour: int) -> ShiftSeries:
    at = SHIFT_START
    segments = []
    for minutes, state in (
        (70, "running"),
        (12, "stopped"),
        (95, "running"),
        (8, "fault"),
        (60, "running"),
        (15, "setup"),
        (40, "running"),
    ):
        segments.append(StateSegment(at, at + timedelta(minutes=minutes), state))
        at += timedelta(minutes=minutes)
    points = [
        (SHIFT_START + timedelta(minutes=15 * i), int(good_per_hour * i / 4)) for i in range(21)
    ]
    return ShiftSeries(
        start=SHIFT_START,
        end=SHIFT_START + timedelta(hours=8),
        now=NOW,
        ideal_cycle_s=ideal_cycle_s,
        segments=tuple(segments),
        good_points=tuple(points),
        shift="morning",
    )


def services(now: datetime = NOW) -> MemoryTabletServices:
    press = MemoryMachine(
        tile=MachineTile(
            "press-01",
            "running",
            good=3120,
            reject=41,
            oee=Oee(0.91, 0.88, 0.987),
            shift="morning",
            last_stop_end=now - timedelta(minutes=47),
        ),
        dispatch=[
            DispatchEntry(
                "WO-1001",
                "BRK-220",
                5000,
                OrderStatus.released,
                customer="Renault",
                priority="A",
                due=date(2026, 11, 30),
            ),
            DispatchEntry(
                "WO-1002",
                "BRK-310",
                2000,
                OrderStatus.released,
                customer="Valeo",
                priority="B",
                due=date(2026, 12, 2),
            ),
        ],
        stops=[
            PendingStop(
                "s-1", "press-01", now - timedelta(minutes=190), now - timedelta(minutes=178)
            ),
            PendingStop(
                "s-2", "press-01", now - timedelta(minutes=75), now - timedelta(minutes=67)
            ),
        ],
        specs={
            "WO-1001": [
                QualitySpec("diameter", 9.95, 10.05, "mm", "Renault"),
                QualitySpec("height", None, 25.0, "mm", "Renault"),
            ]
        },
        series=_series(1.0, 3000),
        ideal_cycle_s=1.0,
    )
    lathe = MemoryMachine(
        tile=MachineTile(
            "lathe-02",
            "stopped",
            "WO-2001",
            "SHF-12",
            800,
            312,
            good=512,
            reject=9,
            oee=Oee(0.72, 0.81, 0.98),
            shift="morning",
            last_stop_end=None,
        ),
        dispatch=[
            DispatchEntry(
                "WO-2001",
                "SHF-12",
                800,
                OrderStatus.in_progress,
                312,
                4,
                "Safran",
                "A",
                date(2026, 11, 28),
            )
        ],
        stops=[PendingStop("s-3", "lathe-02", now - timedelta(minutes=9), None)],
        changes=[OrderChange("lathe-02", "WO-2001", "qty", 900, now - timedelta(minutes=2))],
        series=_series(4.0, 700),
        ideal_cycle_s=4.0,
    )
    oven = MemoryMachine(
        tile=MachineTile(
            "oven-03",
            "idle",
            good=96,
            reject=0,
            oee=Oee(0.64, 0.93, 1.0),
            shift="morning",
            last_stop_end=now - timedelta(hours=2, minutes=5),
        ),
        series=_series(30.0, 100),
        ideal_cycle_s=30.0,
    )
    return MemoryTabletServices(
        {"press-01": press, "lathe-02": lathe, "oven-03": oven},
        stop_reasons=STOP_REASONS,
        scrap_reasons=SCRAP_REASONS,
        clock=lambda: now,
    )
