"""FastAPI dependencies: database session, authentication, role and edge checks, lookups.

Every check is written once here and used as an ``Annotated`` alias in the routers:
``Reader`` / ``Writer`` / ``Admin`` (roles), ``EdgeWriter`` (the edge's own sync routes),
``EdgeReader`` (its dispatch, also readable by people), ``WorkOrderNumber`` (404 when absent).

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
threadpool, and each such hop (queue, thread wake-up, result back to the event loop) cost
more than the check itself — three of them per ingest request, a tenth of a worker's CPU
under load. Only a token missing from the cache reaches the database, in the threadpool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Header, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from central.db.tables import WorkOrder
from central.domain.calendar import WorkingCalendar
from central.errors import Forbidden, NotFound, PreconditionRequired
from central.notify import DispatchNotifier
from central.security import (
    READ_ROLES,
    WRITE_ROLES,
    FailedAuthLog,
    Principal,
    Role,
    TokenCache,
    lookup_token,
)
from central.services.work_orders import get_work_order
from central.settings import CentralSettings


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the app shares between requests (built in the lifespan, kept on ``app.state``)."""

    settings: CentralSettings
    sessions: sessionmaker[Session]
    notifier: DispatchNotifier
    tokens: TokenCache
    failed_auth: FailedAuthLog
    calendar: WorkingCalendar  # the plant's working calendar (settings), for ETAs
    # Ingest transactions of this process that may run at once (settings.ingest_concurrency;
    # 1 on SQLite, which has one writer: they queue here instead of spinning in SQLite's busy
    # handler, which sleeps up to 100 ms per retry). Waiting requests hold no thread.
    ingest_limiter: CapacityLimiter


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="API token (atelier-central create-token)")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    client = request.client.host if request.client else "?"
    if credentials is None:
        runtime.failed_auth.failed(client, "no bearer token")
        raise _unauthorized("missing bearer token")
    token = credentials.credentials
    principal = runtime.tokens.get(token)
    if principal is None:
        principal = await run_in_threadpool(_lookup, runtime, token)
        if principal is None:
            runtime.failed_auth.failed(client, "unknown or revoked token")
            raise _unauthorized("invalid or revoked token")
        runtime.tokens.put(token, principal)
    return principal


def _lookup(runtime: Runtime, token: str) -> Principal | None:
    with runtime.sessions() as session:
        return lookup_token(session, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(roles: frozenset[Role]) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return check


Reader = Annotated[Principal, Depends(require(READ_ROLES))]
Writer = Annotated[Principal, Depends(require(WRITE_ROLES))]
Admin = Annotated[Principal, Depends(require(frozenset({Role.ADMIN})))]

EdgeId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


async def edge_writer(edge_id: EdgeId, principal: PrincipalDep) -> Principal:
    """Only the edge itself may post its records."""
    if principal.role is not Role.EDGE or principal.edge_id != edge_id:
        raise Forbidden("only this edge's own token may post its records")
    return principal


async def edge_reader(edge_id: EdgeId, principal: PrincipalDep) -> Principal:
    """The edge itself, or a person with a read role, may read an edge's dispatch."""
    if principal.role is Role.EDGE and principal.edge_id != edge_id:
        raise Forbidden("an edge token reaches only its own edge")
    return principal


EdgeWriter = Annotated[Principal, Depends(edge_writer)]
EdgeReader = Annotated[Principal, Depends(edge_reader)]


async def if_match(
    if_match: Annotated[
        str | None, Header(description="ETag of the revision being changed")
    ] = None,
) -> int:
    """The revision named by ``If-Match`` (``"3"`` or ``W/"3"``); 428 when missing."""
    if if_match is None:
        raise PreconditionRequired("If-Match header required: send the ETag you read")
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise PreconditionRequired(f"If-Match must be an ETag like '\"3\"', got {if_match!r}")
    return int(raw)


IfMatch = Annotated[int, Depends(if_match)]


def not_found(what: str, key: str) -> NotFound:
    return NotFound(f"{what} {key!r} not found")


WorkOrderNumberPath = Annotated[str, Path(min_length=1, max_length=100)]


def work_order_row(number: WorkOrderNumberPath, session: SessionDep) -> WorkOrder:
    """The work order named in the path, or 404."""
    return get_work_order(session=session, number=number)


WorkOrderRow = Annotated[WorkOrder, Depends(work_order_row)]
