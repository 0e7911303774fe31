"""Operator actions (POST): login/logout and the declarations, each stored before confirming.

Every form carries ``csrf`` (checked against the cookie) and ``idem``, the idempotency key
generated when the form was rendered: the services store an action once per key.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from edge.tablet.errors import InvalidInput, TabletError
from edge.tablet.models import OrderAction, Receipt
from edge.tablet.pages import render_machine
from edge.tablet.session import Session
from edge.tablet.web import ACTIONS, PAGES, Visit, VisitDep, safe_next

router = APIRouter(tags=["tablet"])

Act = Callable[[Session, str, FormData], Awaitable[Receipt]]


def text(form: FormData, name: str, *, required: bool = True) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise InvalidInput(name)
    return value


def integer(form: FormData, name: str) -> int:
    raw = text(form, name, required=False) or "0"
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(name) from None


def number(form: FormData, name: str) -> float:
    raw = text(form, name).replace(",", ".")  # French keyboards type a decimal comma
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(name) from None
    if not math.isfinite(value):
        raise InvalidInput(name)
    return value


async def perform(visit: Visit, machine_id: str, act: Act) -> HTMLResponse:
    session = visit.require_operator()
    await visit.check_csrf()
    form = await visit.request.form()
    try:
        receipt = await act(session, text(form, "idem"), form)
    except TabletError as exc:
        return await render_machine(visit, machine_id, error=exc)
    return await render_machine(visit, machine_id, receipt=receipt)


@router.post(ACTIONS + "/{machine_id}/orders/{order}/{action}", response_class=HTMLResponse)
async def order_action(machine_id: str, order: str, action: str, visit: VisitDep) -> Response:
    async def act(session: Session, key: str, form: FormData) -> Receipt:
        try:
            verb = OrderAction(action)
        except ValueError:
            raise InvalidInput("action") from None
        return await visit.ctx.services.order_action(
            machine_id=machine_id, order=order, action=verb, operator=session.operator, key=key
        )

    return await perform(visit, machine_id, act)


@router.post(ACTIONS + "/{machine_id}/changes/{order}/confirm", response_class=HTMLResponse)
async def confirm_change(machine_id: str, order: str, visit: VisitDep) -> Response:
    async def act(session: Session, key: str, form: FormData) -> Receipt:
        return await visit.ctx.services.confirm_change(
            machine_id=machine_id, order=order, operator=session.operator, key=key
        )

    return await perform(visit, machine_id, act)


@router.post(ACTIONS + "/{machine_id}/counts", response_class=HTMLResponse)
async def declare_counts(machine_id: str, visit: VisitDep) -> Response:
    async def act(session: Session, key: str, form: FormData) -> Receipt:
        return await visit.ctx.services.declare_counts(
            machine_id=machine_id,
            good=integer(form, "good"),
            scrap=integer(form, "scrap"),
            scrap_reason=text(form, "scrap_reason", required=False) or None,
            operator=session.operator,
            key=key,
        )

    return await perform(visit, machine_id, act)


@router.post(ACTIONS + "/{machine_id}/stops/{stop_id}/reason", response_class=HTMLResponse)
async def justify_stop(machine_id: str, stop_id: str, visit: VisitDep) -> Response:
    async def act(session: Session, key: str, form: FormData) -> Receipt:
        return await visit.ctx.services.justify_stop(
            machine_id=machine_id,
            stop_id=stop_id,
            reason=text(form, "reason"),
            operator=session.operator,
            key=key,
        )

    return await perform(visit, machine_id, act)


@router.post(ACTIONS + "/{machine_id}/consumptions", response_class=HTMLResponse)
async def consume(machine_id: str, visit: VisitDep) -> Response:
    async def act(session: Session, key: str, form: FormData) -> Receipt:
        return await visit.ctx.services.consume(
            machine_id=machine_id,
            item=text(form, "item"),
            lot=text(form, "lot"),
            qty=number(form, "qty"),
            uom=text(form, "uom", required=False) or "pcs",
            operator=session.operator,
            key=key,
        )

    return await perform(visit, machine_id, act)


@router.post(ACTIONS + "/{machine_id}/quality", response_class=HTMLResponse)
async def record_quality(machine_id: str, visit: VisitDep) -> Response:
    async def act(session: Session, key: str, form: FormData) -> Receipt:
        return await visit.ctx.services.record_quality(
            machine_id=machine_id,
            characteristic=text(form, "characteristic"),
            value=number(form, "value"),
            operator=session.operator,
            key=key,
        )

    return await perform(visit, machine_id, act)


@router.post(PAGES + "/login", response_class=HTMLResponse)
async def login(visit: VisitDep) -> Response:
    await visit.check_csrf()
    form = await visit.request.form()
    target = safe_next(text(form, "next", required=False))
    terminal = visit.terminal()
    ctx = visit.ctx

    def again(message: str, status: int, **params: object) -> Response:
        return visit.render(
            "login.html",
            status=status,
            operators=ctx.directory.all(),
            next=target,
            message=message,
            params=params,
        )

    wait = ctx.throttle.wait_s(terminal)
    if wait > 0:
        return again("login.throttled", 429, seconds=math.ceil(wait))
    badge = text(form, "badge", required=False)
    if badge:  # scrypt takes ~50 ms per check: keep it off the event loop
        account = await asyncio.to_thread(ctx.directory.check_badge, badge)
    else:
        operator, pin = text(form, "operator", required=False), text(form, "pin", required=False)
        account = await asyncio.to_thread(ctx.directory.check_pin, operator, pin)
    if account is None:
        wait = ctx.throttle.failure(terminal)
        if wait > 0:
            return again("login.wrong_throttled", 401, seconds=math.ceil(wait))
        return again("login.wrong_badge" if badge else "login.wrong_pin", 401)
    ctx.throttle.success(terminal)
    visit.session = Session(account.id, account.name, ctx.clock())
    return visit.redirect(target)


@router.post(PAGES + "/logout")
async def logout(visit: VisitDep) -> Response:
    await visit.check_csrf()
    visit.session = None
    visit.logout = True
    return visit.redirect(PAGES + "/")
