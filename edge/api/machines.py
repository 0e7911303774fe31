"""``/api/v1/machines``: live state and counts of the current shift; OEE by shift or hour."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query

from edge.api.deps import MachineId, MachineOut, Services

router = APIRouter(prefix="/api/v1/machines", tags=["machines"])


@router.get("", response_model=list[MachineOut])
async def list_machines(services: Services) -> list[MachineOut]:
    return await services.machines()


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise HTTPException(status_code=422, detail=f"{name}: give a UTC offset or Z")
    return value.astimezone(UTC)


@router.get("/{machine_id}/oee")
async def machine_oee(
    machine_id: MachineId,
    services: Services,
    from_: datetime = Query(alias="from"),
    to: datetime = Query(),
    by: Literal["shift", "hour"] = Query(default="shift"),
) -> list[dict[str, Any]]:
    """Same keys as ``atelier-edge analyze --json``, one object per window."""
    start, end = _aware(from_, "from"), _aware(to, "to")
    if end <= start:
        raise HTTPException(status_code=422, detail="to: must be after from")
    return await services.oee(machine_id, start=start, end=end, by=by)
