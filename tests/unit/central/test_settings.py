"""Settings: the example YAML file, environment precedence, unknown keys refused."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from central.domain.calendar import Break, WorkingCalendar
from central.settings import CentralSettings, load_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "central.yaml"


def test_example_file_loads_and_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(EXAMPLE).database_url == "sqlite:///./central.db"
    monkeypatch.setenv("ATELIER_CENTRAL_DATABASE_URL", "postgresql+psycopg://db/atelier")
    settings = load_settings(EXAMPLE)
    assert settings.database_url == "postgresql+psycopg://db/atelier"
    assert settings.edge_offline_after_s == 300


def test_unknown_key_and_missing_file_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "central.yaml"
    bad.write_text("databse_url: sqlite://\n")
    with pytest.raises(ValidationError, match="databse_url"):
        load_settings(bad)
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_plant_calendar_from_the_example_config() -> None:
    calendar = load_settings(EXAMPLE).working_calendar()
    assert calendar.timezone == "Europe/Paris"
    assert [(s.name, s.start, s.end, s.days) for s in calendar.shifts] == [
        ("morning", time(6), time(14), (0, 1, 2, 3, 4)),
        ("afternoon", time(14), time(22), (0, 1, 2, 3, 4)),
        ("night", time(22), time(6), (0, 1, 2, 3, 4)),
    ]
    assert calendar.shifts[0].breaks == (Break(time(9), 15), Break(time(11, 30), 30))


def test_no_shifts_means_24_7_in_the_plant_zone() -> None:
    calendar = CentralSettings(timezone="America/Chicago").working_calendar()
    assert calendar == WorkingCalendar.always("America/Chicago")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "not a known IANA time zone"),
        ("shifts", [{"name": "d", "start": "6h", "end": "14:00"}], "shifts.0.start"),
        ("shifts", [{"name": "d", "start": "06:00", "end": "14:00", "days": ["funday"]}], "days"),
        (
            "shifts",
            [
                {
                    "name": "d",
                    "start": "06:00",
                    "end": "08:00",
                    "breaks": [{"start": "12:00", "minutes": 5}],
                }
            ],
            "shifts[0] (d): Shift[d].breaks[0]",
        ),
    ],
)
def test_bad_calendar_names_the_key(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        CentralSettings(**{field: value})
    assert message in str(info.value)
