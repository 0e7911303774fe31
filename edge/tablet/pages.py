"""Tablet pages (GET): board, tiles fragment, machine page, chart fragment, login, language."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from edge.tablet import chart, i18n, rules
from edge.tablet.errors import TabletError, UnknownMachine
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
}


async def machine_view(visit: Visit, machine_id: str) -> dict[str, Any]:
    """Everything the machine page shows, read from the services."""
    services = visit.ctx.services
    now = visit.ctx.now()
    tile, dispatch, stops, specs, results, series = await asyncio.gather(
        services.machine(machine_id),
        services.dispatch_list(machine_id),
        services.pending_stops(machine_id),
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
    except UnknownMachine:
        return visit.render("not_found.html", status=404, machine=machine_id)
    status = ERROR_STATUS.get(type(error).__name__, 400) if error else 200
    response = visit.render("machine.html", status=status, receipt=receipt, error=error, **view)
    if visit.is_htmx:  # after a POST the address bar shows the page, not the action URL
        response.headers["HX-Replace-Url"] = f"{PAGES}/machines/{machine_id}"
    return response


@router.get("/", response_class=HTMLResponse, name="tablet-board")
async def board(visit: VisitDep) -> HTMLResponse:
    tiles = await visit.ctx.services.machines()
    return visit.render("board.html", tiles=tiles)


@router.get("/board/tiles", response_class=HTMLResponse)
async def board_tiles(visit: VisitDep) -> HTMLResponse:
    tiles = await visit.ctx.services.machines()
    return visit.render("_tiles.html", tiles=tiles)


@router.get("/machines/{machine_id}", response_class=HTMLResponse)
async def machine_page(machine_id: str, visit: VisitDep) -> Response:
    visit.require_operator()
    return await render_machine(visit, machine_id)


@router.get("/machines/{machine_id}/chart", response_class=HTMLResponse)
async def machine_chart(machine_id: str, visit: VisitDep) -> Response:
    try:
        series = await visit.ctx.services.shift_series(machine_id, visit.ctx.now())
    except UnknownMachine:
        return visit.render("not_found.html", status=404, machine=machine_id)
    return visit.render("_chart.html", chart=chart.geometry(series), machine_id=machine_id)


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
