"""Read-only views: ``/api/v1/alerts``, ``/api/v1/purchase-proposals``,
``/api/v1/nonconformities``, ``/api/v1/work-orders/{number}/genealogy``; and the admin's
``/api/v1/tokens``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from central.api.deps import Admin, Reader, SessionDep, WorkOrderRow
from central.db.tables import (
    Alert,
    ApiToken,
    NonConformity,
    PurchaseProposal,
    StockMove,
)
from central.errors import Invalid, NotFound
from central.models.stock import StockMoveRead
from central.security import Role, create_token

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AlertRead(_Out):
    id: int
    key: str
    kind: str
    severity: str
    subject: str | None
    message: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class NonConformityRead(_Out):
    id: int
    work_order: str | None
    customer: str | None
    item: str | None
    characteristic: str
    value: float
    lsl: float | None
    usl: float | None
    edge_id: str
    seq: int
    created_at: datetime
    status: str


class ProposalRead(_Out):
    id: int
    item: str
    qty: float
    need_by: datetime | None
    status: str
    reason: str | None
    created_at: datetime
    updated_at: datetime


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role
    edge_id: (
        Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] | None
    ) = None


class TokenRead(_Out):
    id: int
    name: str
    role: str
    edge_id: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    token: str  # shown once; only its hash is stored
    name: str
    role: Role
    edge_id: str | None


@router.get("/api/v1/work-orders/{number}/genealogy", tags=["work orders"])
def genealogy(_: Reader, row: WorkOrderRow, session: SessionDep) -> list[StockMoveRead]:
    """Stock moves of the order: component lots consumed and finished lots produced."""
    query = select(StockMove).where(StockMove.work_order == row.number).order_by(StockMove.id)
    return [StockMoveRead.model_validate(m) for m in session.scalars(query)]


@router.get("/api/v1/alerts", tags=["alerts"])
def list_alerts(
    _: Reader,
    session: SessionDep,
    kind: str | None = None,
    include_resolved: bool = False,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[AlertRead]:
    query = select(Alert)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if not include_resolved:
        query = query.where(Alert.resolved_at.is_(None))
    query = query.order_by(Alert.updated_at.desc(), Alert.id).limit(limit).offset(offset)
    return [AlertRead.model_validate(a) for a in session.scalars(query)]


@router.get("/api/v1/nonconformities", tags=["quality"])
def list_nonconformities(
    _: Reader,
    session: SessionDep,
    work_order: str | None = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[NonConformityRead]:
    """Measurements outside the customer's (else the item's) limits, newest first."""
    query = select(NonConformity)
    if work_order is not None:
        query = query.where(NonConformity.work_order == work_order)
    query = query.order_by(NonConformity.id.desc()).limit(limit).offset(offset)
    return [NonConformityRead.model_validate(n) for n in session.scalars(query)]


@router.get("/api/v1/purchase-proposals", tags=["stock"])
def list_proposals(
    _: Reader, session: SessionDep, limit: Limit = 200, offset: Offset = 0
) -> list[ProposalRead]:
    query = select(PurchaseProposal).order_by(PurchaseProposal.id).limit(limit).offset(offset)
    return [ProposalRead.model_validate(p) for p in session.scalars(query)]


@router.get("/api/v1/tokens", tags=["admin"])
def list_tokens(_: Admin, session: SessionDep) -> list[TokenRead]:
    return [
        TokenRead.model_validate(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.id))
    ]


@router.post("/api/v1/tokens", tags=["admin"], status_code=status.HTTP_201_CREATED)
def new_token(_: Admin, session: SessionDep, data: TokenCreate) -> TokenCreated:
    try:
        secret = create_token(session=session, name=data.name, role=data.role, edge_id=data.edge_id)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    return TokenCreated(token=secret, name=data.name, role=data.role, edge_id=data.edge_id)


@router.post("/api/v1/tokens/{token_id}/revoke", tags=["admin"])
def revoke_token(
    _: Admin, token_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep
) -> TokenRead:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    session.commit()
    session.refresh(row)
    return TokenRead.model_validate(row)
