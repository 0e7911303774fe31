"""Operator tablet: touch pages served by the edge (FastAPI + Jinja2 + vendored htmx).

Include it in the edge app with one line::

    app.include_router(create_tablet_router(services, operators))

``services`` implements :class:`TabletServices` (``StoreTabletServices`` over the edge store, or
``MemoryTabletServices`` in tests); ``operators`` is an :class:`OperatorDirectory`. Pages live
under ``/tablet/``; operator actions are ``POST /api/v1/machines/{id}/...``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.staticfiles import StaticFiles

from edge.tablet import actions, pages
from edge.tablet.auth import OperatorAccount, OperatorDirectory, hash_secret
from edge.tablet.services import TabletServices
from edge.tablet.web import PAGES, TabletContext, TabletSettings

__all__ = [
    "OperatorAccount",
    "OperatorDirectory",
    "TabletServices",
    "TabletSettings",
    "create_tablet_router",
    "hash_secret",
]

STATIC = Path(__file__).parent / "static"


def create_tablet_router(
    services: TabletServices,
    operators: OperatorDirectory,
    settings: TabletSettings | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """The tablet's routes, bound to one edge's services (no globals: one router per app)."""
    ctx = TabletContext(services, operators, settings or TabletSettings(), clock=clock)

    def bind(request: Request) -> None:
        request.state.tablet = ctx

    router = APIRouter(dependencies=[Depends(bind)])
    router.include_router(pages.router)
    router.include_router(actions.router)
    router.mount(PAGES + "/static", StaticFiles(directory=STATIC), name="tablet-static")
    return router
