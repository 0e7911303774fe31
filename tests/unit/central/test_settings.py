"""Settings: the example YAML file, environment precedence, unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from central.settings import load_settings

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
