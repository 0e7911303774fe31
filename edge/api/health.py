"""``GET /health``: 200 when every source is connected and the store writable, else 503.

The report also shows the link to central (``sync``) and the downlink writes per machine
(``downlink``). Their trouble is listed under ``warnings`` and ``sync.status = "degraded"``,
but it never turns the answer into a 503: an edge without central keeps sampling and queueing
its facts in the outbox, which is its job, and restarting it for that would help no one. The
503 stays what DESIGN.md says it is: a source down, the store or the disk unusable.
"""

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
