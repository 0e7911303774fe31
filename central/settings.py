"""Settings of the central service, read once from ``ATELIER_CENTRAL_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    migrate_on_start: bool = False
    log_level: str = "INFO"
