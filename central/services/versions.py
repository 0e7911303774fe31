"""Per-edge dispatch versions: bumped in the same transaction as the change they announce."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.db.tables import Edge, Machine
from central.notify import mark_dispatch_changed


def bump_edges(session: Session, edge_ids: Iterable[str | None]) -> None:
    ids = sorted({e for e in edge_ids if e is not None})  # sorted: one lock order everywhere
    if not ids:
        return
    session.execute(
        update(Edge).where(Edge.id.in_(ids)).values(dispatch_version=Edge.dispatch_version + 1)
    )
    mark_dispatch_changed(session, ids)


def bump_for_machines(session: Session, machines: Iterable[str | None]) -> None:
    ids = {m for m in machines if m is not None}
    if ids:
        query = select(Machine.edge_id).where(Machine.id.in_(ids)).distinct()
        bump_edges(session, session.scalars(query))


def bump_all(session: Session) -> None:
    """For changes every edge may see (customer priorities, quality specs, BOMs)."""
    bump_edges(session, session.scalars(select(Edge.id)))
