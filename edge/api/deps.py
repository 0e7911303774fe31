"""What the HTTP layer needs from the running edge, and the FastAPI dependency that yields it.

The app is built around an :class:`EdgeServices` object passed to ``create_app`` (the agent in
production, a small fake-free assembly in tests), stored on ``app.state``; routers get it
through the ``Services`` annotated dependency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, HTTPException, Request
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceHealthOut(_Out):
    name: str
    state: str
    last_sample_age_s: float | None
    last_error: str | None
    samples: int
    errors: dict[str, int]


class SyncHealthOut(_Out):
    """Link to central. ``degraded`` here never makes ``/health`` answer 503 (see health.py)."""

    status: Literal["ok", "degraded", "starting"]
    connected: bool
    central: str  # the URL without any user:password part
    last_push_at: datetime | None
    last_pull_at: datetime | None
    backlog: int | None
    oldest_unacked_age_s: float | None
    acked_through: int
    dispatch_version: int | None
    refused_records: int  # poison records kept unacked in the outbox
    last_error: str | None  # redacted: no token, no URL credentials


class DownlinkHealthOut(_Out):
    machine: str
    pending: bool  # the PLC does not show the active order yet
    failed: bool  # the last write attempt failed (it is retried)
    work_order: str | None
    target: int | None
    attempts: int
    last_error: str | None


class HealthReport(_Out):
    status: Literal["ok", "degraded"]
    reasons: list[str]
    sources: list[SourceHealthOut]
    store: dict[str, Any]
    outbox: dict[str, Any]
    queue: dict[str, int]
    disk: dict[str, Any]
    sync: SyncHealthOut | None = None  # None: no `central` section, or sync not running
    downlink: list[DownlinkHealthOut] = []
    warnings: list[str] = []  # degraded parts that do not make the edge unhealthy (sync)


class MachineOut(_Out):
    id: str
    state: str
    state_since: datetime | None
    active_order: str | None
    total: int
    good: int
    reject: int
    last_sample_at: datetime | None
    shift: str | None
    shift_start: datetime | None
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


class EdgeServices(Protocol):
    @property
    def registry(self) -> CollectorRegistry: ...

    def machine_ids(self) -> list[str]: ...

    async def health(self) -> HealthReport: ...

    async def machines(self) -> list[MachineOut]: ...

    async def oee(
        self, machine: str, *, start: datetime, end: datetime, by: Literal["shift", "hour"]
    ) -> list[dict[str, Any]]: ...


def _services(request: Request) -> EdgeServices:
    services: EdgeServices = request.app.state.edge
    return services


Services = Annotated[EdgeServices, Depends(_services)]


def _machine_id(machine_id: str, services: Services) -> str:
    if machine_id not in services.machine_ids():
        raise HTTPException(status_code=404, detail=f"unknown machine {machine_id!r}")
    return machine_id


MachineId = Annotated[str, Depends(_machine_id)]
