"""The edge's FastAPI application factory; collaborators are passed in, nothing global."""

from __future__ import annotations

from fastapi import FastAPI

from edge.api import health, machines, metrics
from edge.api.deps import EdgeServices


def create_app(services: EdgeServices) -> FastAPI:
    """JSON API, /health and /metrics over a running edge (the tablet adds its own routers)."""
    app = FastAPI(title="Atelier edge", version="1")
    app.state.edge = services
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(machines.router)
    return app
