"""Tablet pages (GET): board, tiles fragment, machine page, chart fragment, login, language."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from edge.tablet import chart, i18n, rules
from edge.tablet.errors import StoreUnavailable, TabletError, UnknownMachine
from edge.tablet.models import OrderStatus, Receipt
from edge.tablet.web import LANG_COOKIE, PAGES, Visit, VisitDep, safe_next

router = APIRouter(prefix=PAGES, tags=["tablet"])

ERROR_STATUS = {
    "UnknownMachine": 404,
    "UnknownOrder": 404,
    "UnknownStop": 409,
    "InvalidAction": 409,
    "InvalidInput": 422,
    "StoreUnavailable": 503,
    "StoreDown": 503,
}


async def machine_view(visit: Visit, machine_id: str) -> dict[str, Any]:
    """Everything the machine page shows, read from the services."""
    services = visit.ctx.services
    now = visit.ctx.now()
    # two gathers: asyncio.gather is typed for at most six awaitables
    tile, dispatch, stops, changes = await asyncio.gather(
        services.machine(machine_id),
        services.dispatch_list(machine_id),
        services.pending_stops(machine_id),
        services.order_changes(machine_id),
    )
    specs, results, series = await asyncio.gather(
        services.quality_specs(machine_id),
        services.quality_results(machine_id),
        services.shift_series(machine_id, now),
    )
    visible = [d for d in dispatch if d.status is not OrderStatus.completed]
    return {
        "tile": tile,
        "dispatch": visible,
        "allowed": {d.number: rules.allowed_actions(d.status) for d in visible},
        "active": rules.active_order(dispatch),
        "stops": stops,
        "changes": changes,
        "specs": specs,
        "results": results[:8],
        "chart": chart.geometry(series),
        "stop_reasons": services.stop_reasons(),
        "scrap_reasons": services.scrap_reasons(),
    }


async def render_machine(
    visit: Visit,
    machine_id: str,
    *,
    receipt: Receipt | None = None,
    error: TabletError | None = None,
) -> HTMLResponse:
    try:
        view = await machine_view(visit, machine_id)
    except UnknownMachine as exc:
        return problem(visit, exc, machine_id)
    except StoreUnavailable as exc:  # an action that failed to store says so, else "down"
        return problem(visit, error if isinstance(error, StoreUnavailable) else StoreDown(str(exc)))
    status = ERROR_STATUS.get(type(error).__name__, 400) if error else 200
    response = visit.render("machine.html", status=status, receipt=receipt, error=error, **view)
    if visit.is_htmx:  # after a POST the address bar shows the page, not the action URL
        response.headers["HX-Replace-Url"] = f"{PAGES}/machines/{machine_id}"
    return response


class StoreDown(StoreUnavailable):
    """Reading failed: nothing was being stored, the page just cannot be shown now."""

    message_key = "error.store_down"


def problem(visit: Visit, error: TabletError, machine_id: str = "") -> HTMLResponse:
    """A page saying what went wrong (unknown machine 404, store down 503)."""
    status = ERROR_STATUS.get(type(error).__name__, 400)
    return visit.render("problem.html", status=status, error=error, machine=machine_id)


async def _tiles(visit: Visit, name: str) -> HTMLResponse:
    try:
        tiles = await visit.ctx.services.machines()
    except StoreUnavailable as exc:  # the board keeps polling and recovers by itself
        return visit.render(name, status=503, tiles=[], error=StoreDown(str(exc)))
    return visit.render(name, tiles=tiles, error=None)


@router.get("/", response_class=HTMLResponse, name="tablet-board")
async def board(visit: VisitDep) -> HTMLResponse:
    return await _tiles(visit, "board.html")


@router.get("/board/tiles", response_class=HTMLResponse)
async def board_tiles(visit: VisitDep) -> HTMLResponse:
    visit.passive = True
    return await _tiles(visit, "_tiles.html")


@router.get("/machines/{machine_id}", response_class=HTMLResponse)
async def machine_page(machine_id: str, visit: VisitDep) -> Response:
    visit.require_operator()
    return await render_machine(visit, machine_id)


@router.get("/machines/{machine_id}/chart", response_class=HTMLResponse)
async def machine_chart(machine_id: str, visit: VisitDep) -> Response:
    visit.passive = True
    try:
        series = await visit.ctx.services.shift_series(machine_id, visit.ctx.now())
    except UnknownMachine as exc:
        return problem(visit, exc, machine_id)
    except StoreUnavailable as exc:
        return problem(visit, StoreDown(str(exc)), machine_id)
    return visit.render("_chart.html", chart=chart.geometry(series), machine_id=machine_id)


@router.get("/machines/{machine_id}/stops", response_class=HTMLResponse)
async def machine_stops(machine_id: str, visit: VisitDep) -> Response:
    """The stops panel, polled by the machine page (a stop is listed once it has ended)."""
    visit.passive = True
    if visit.session is None:  # logged out meanwhile: the page's idle timer goes to the login
        return Response(status_code=204)
    services = visit.ctx.services
    try:
        tile, stops = await asyncio.gather(
            services.machine(machine_id), services.pending_stops(machine_id)
        )
    except UnknownMachine as exc:
        return problem(visit, exc, machine_id)
    except StoreUnavailable:
        return Response(status_code=204)  # keep what the panel shows; the next poll retries
    return visit.render(
        "_stops.html",
        machine_id=machine_id,
        tile=tile,
        stops=stops,
        stop_reasons=services.stop_reasons(),
        oob=True,  # the state badge in the page's title is refreshed along (hx-swap-oob)
    )


@router.get("/login", response_class=HTMLResponse)
async def login_page(visit: VisitDep, next: str | None = None, expired: int = 0) -> Response:
    return visit.render(
        "login.html",
        operators=visit.ctx.directory.all(),
        next=safe_next(next),
        message="login.expired" if expired else None,
    )


@router.get("/lang/{code}")
async def switch_language(code: str, visit: VisitDep, next: str | None = None) -> Response:
    response = visit.redirect(safe_next(next))
    if code in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response
