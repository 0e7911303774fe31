"""Per-request plumbing of the tablet: context, language, session, CSRF, rendering.

The router is included in someone else's app, so nothing here relies on app-level middleware or
exception handlers: cookies are set by :meth:`Visit.render` / :meth:`Visit.redirect`, and a
missing session or CSRF token is an ``HTTPException`` carrying the redirect headers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from edge.tablet import i18n
from edge.tablet.auth import LoginThrottle, OperatorDirectory
from edge.tablet.services import TabletServices
from edge.tablet.session import CsrfCodec, Session, SessionCodec

PAGES = "/tablet"
ACTIONS = "/api/v1/machines"
SESSION_COOKIE = "atelier_session"
CSRF_COOKIE = "atelier_csrf"
LANG_COOKIE = "atelier_lang"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class TabletSettings:
    """``secret`` signs cookies (random per process by default: a restart logs everyone out)."""

    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    idle_timeout_s: float = 300.0
    poll_s: float = 5.0
    tz: tzinfo = UTC
    cookie_secure: bool = False  # the edge usually serves plain HTTP on the plant LAN
    throttle_free_attempts: int = 3
    throttle_base_wait_s: float = 2.0
    throttle_max_wait_s: float = 300.0


class TabletContext:
    """Everything the routes share; built once by :func:`edge.tablet.create_tablet_router`."""

    def __init__(
        self,
        services: TabletServices,
        directory: OperatorDirectory,
        settings: TabletSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        self.directory = directory
        self.settings = settings
        self.clock = clock
        self.sessions = SessionCodec(settings.secret, idle_timeout_s=settings.idle_timeout_s)
        self.csrf = CsrfCodec(settings.secret)
        self.throttle = LoginThrottle(
            clock,
            free_attempts=settings.throttle_free_attempts,
            base_wait_s=settings.throttle_base_wait_s,
            max_wait_s=settings.throttle_max_wait_s,
        )
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
        self.templates = Jinja2Templates(env=env)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


def get_context(request: Request) -> TabletContext:
    ctx: TabletContext = request.state.tablet
    return ctx


def safe_next(target: str | None, default: str = PAGES + "/") -> str:
    """Only local tablet paths: no open redirect through ``?next=``."""
    if target and target.startswith(PAGES + "/") and "//" not in target and "\\" not in target:
        return target
    return default


class Visit:
    """One request as the tablet sees it: who, in which language, with which CSRF token."""

    def __init__(self, request: Request, ctx: TabletContext) -> None:
        self.request = request
        self.ctx = ctx
        now_s = ctx.clock()
        lang = i18n.negotiate(
            request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE)
        )
        self.t = i18n.Translator(lang, ctx.settings.tz)
        raw = request.cookies.get(SESSION_COOKIE)
        self.session = ctx.sessions.decode(raw, now_s=now_s)
        self.session_expired = raw is not None and self.session is None
        if self.session is not None:  # sliding idle timeout
            self.session = Session(self.session.operator, self.session.name, now_s)
        cookie = request.cookies.get(CSRF_COOKIE)
        self.csrf_is_new = not ctx.csrf.valid(cookie)
        self.csrf = ctx.csrf.new_token() if self.csrf_is_new else str(cookie)
        self.logout = False
        # set by the routes a page polls by itself: not operator activity, so the session is
        # not extended (else a board left open would keep the last operator logged in forever)
        self.passive = False

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def terminal(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def require_operator(self) -> Session:
        if self.session is not None:
            return self.session
        login = f"{PAGES}/login?next={safe_next(self.request.url.path)}"
        if self.session_expired:
            login += "&expired=1"
        if self.is_htmx:  # htmx follows HX-Redirect with a full page load
            raise HTTPException(401, "operator login required", headers={"HX-Redirect": login})
        raise HTTPException(303, "operator login required", headers={"Location": login})

    async def check_csrf(self) -> None:
        form = await self.request.form()
        field = form.get("csrf")
        cookie = self.request.cookies.get(CSRF_COOKIE)
        if not self.ctx.csrf.matches(cookie, field if isinstance(field, str) else None):
            raise HTTPException(403, "CSRF token missing or invalid: reload the page")

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        base = {
            "t": self.t,
            "lang": self.t.lang,
            "languages": i18n.LANGUAGES,
            "operator": self.session,
            "csrf": self.csrf,
            "new_key": lambda: secrets.token_urlsafe(16),
            "pages": PAGES,
            "actions": ACTIONS,
            "poll_s": self.ctx.settings.poll_s,
            "idle_s": self.ctx.settings.idle_timeout_s,
            "here": self.request.url.path,
            "now": self.ctx.now(),
        }
        response = self.ctx.templates.TemplateResponse(
            self.request, name, base | context, status_code=status
        )
        self.set_cookies(response)
        return response

    def redirect(self, url: str) -> Response:
        response = RedirectResponse(url, status_code=303)
        self.set_cookies(response)
        return response

    def set_cookies(self, response: Response) -> None:
        secure = self.ctx.settings.cookie_secure
        if self.csrf_is_new:
            response.set_cookie(
                CSRF_COOKIE, self.csrf, httponly=True, samesite="strict", secure=secure
            )
        if self.logout:
            response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        elif self.session is not None and not self.passive:
            response.set_cookie(
                SESSION_COOKIE,
                self.ctx.sessions.encode(self.session),
                max_age=int(self.ctx.settings.idle_timeout_s),
                httponly=True,
                samesite="strict",
                secure=secure,
            )


def get_visit(request: Request, ctx: Annotated[TabletContext, Depends(get_context)]) -> Visit:
    return Visit(request, ctx)


VisitDep = Annotated[Visit, Depends(get_visit)]
