"""Settings of the central service: ``ATELIER_CENTRAL_*`` environment variables, optionally
over a YAML file (``atelier-central --config config/central.yaml``). Secrets (a database
password inside ``database_url``) belong in the environment, not in the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from central.domain.calendar import WorkingCalendar
from central.plant_calendar import Shifts, Timezone, working_calendar

CONFIG_ENV = "ATELIER_CENTRAL_CONFIG"


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_CENTRAL_", frozen=True, extra="ignore")

    database_url: str = "sqlite:///./central.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    jobs_enabled: bool = True
    eta_interval_s: float = Field(default=60.0, gt=0)
    alerts_interval_s: float = Field(default=60.0, gt=0)
    edges_interval_s: float = Field(default=30.0, gt=0)
    edge_offline_after_s: float = Field(default=300.0, gt=0)
    dispatch_poll_s: float = Field(default=1.0, gt=0)  # cross-worker long-poll DB check period
    public_docs: bool = True  # /docs and /openapi.json without a token (they hold no data)
    token_cache_s: float = Field(default=5.0, ge=0)  # revocation takes effect within this delay
    pool_size: int = Field(default=10, ge=1)
    # ingest transactions run at once per worker process (PostgreSQL; SQLite has one writer):
    # a few keep the process busy while others wait on the database; more only add GIL
    # contention and thread switches (bench/central_ingest.py)
    ingest_concurrency: int = Field(default=4, ge=1)
    migrate_on_start: bool = False
    log_level: str = "INFO"
    # plant working calendar for ETAs (central.plant_calendar); no shifts: 24/7
    timezone: Timezone = "UTC"
    shifts: Shifts = ()
    closed_days: tuple[date, ...] = ()

    def working_calendar(self) -> WorkingCalendar:
        return working_calendar(self.timezone, self.shifts, self.closed_days)


def load_settings(path: str | Path | None = None) -> CentralSettings:
    """Settings from ``path`` (YAML, keys as the field names) with ``ATELIER_CENTRAL_*``
    environment variables taking precedence; without a path, from the environment only."""
    if path is None:
        return CentralSettings()
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"central config {file} not found")

    class FromFile(CentralSettings):
        model_config = SettingsConfigDict(
            env_prefix="ATELIER_CENTRAL_", frozen=True, extra="forbid", yaml_file=file
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    return FromFile()
