"""``GET /health``: 200 when every source is connected and the store writable, else 503."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from edge.api.deps import HealthReport, Services

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthReport, responses={503: {"model": HealthReport}})
async def health(services: Services) -> JSONResponse:
    report = await services.health()
    code = 200 if report.status == "ok" else 503
    return JSONResponse(report.model_dump(mode="json"), status_code=code)
