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


class HealthReport(_Out):
    status: Literal["ok", "degraded"]
    reasons: list[str]
    sources: list[SourceHealthOut]
    store: dict[str, Any]
    outbox: dict[str, Any]
    queue: dict[str, int]
    disk: dict[str, Any]


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
