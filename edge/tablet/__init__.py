"""Operator tablet: touch pages served by the edge (FastAPI + Jinja2 + vendored htmx).

Include it in the edge app with one line (in ``Agent._start_api``, after ``create_app``)::

    app.include_router(edge_tablet_router(self.config, self.writer, self.services))

or, with other collaborators, ``create_tablet_router(services, operators, settings)``:
``services`` implements :class:`TabletServices` (``StoreTabletServices`` over the edge store, or
``MemoryTabletServices`` in tests); ``operators`` is an :class:`OperatorDirectory`. Pages live
under ``/tablet/``; operator actions are ``POST /api/v1/machines/{id}/...``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

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
    "edge_tablet_router",
    "hash_secret",
]

if TYPE_CHECKING:
    from edge.config import EdgeConfig
    from edge.tablet.store_services import LiveView
    from edge.writer import StoreWriter

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


def edge_tablet_router(
    config: EdgeConfig,
    writer: StoreWriter,
    live: LiveView,
    settings: TabletSettings | None = None,
) -> APIRouter:
    """The tablet of a running edge: its store (through ``writer``), its live view (the
    ``EdgeServices`` of the API), the operators and reasons of its config, its time zone."""
    from edge.tablet.config import directory_from_config
    from edge.tablet.store_services import StoreTabletServices

    services = StoreTabletServices(writer=writer, config=config, live=live)
    settings = settings or TabletSettings(tz=config.edge.tz)
    return create_tablet_router(services, directory_from_config(config.operators), settings)
