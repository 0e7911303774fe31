"""Operator declarations from the edge: stored, and applied to the work order they name.

An action the order's state does not allow (e.g. a pause that arrives after the order was
completed) is kept with ``applied = False`` rather than failing the whole batch: the floor's
record is a fact, the central state machine stays consistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from central.contract import DeclarationRecord
from central.db.tables import Declaration, WorkOrder
from central.errors import Conflict
from central.lifecycle import Action, Status, transition
from central.services.sql import dialect_insert, insert_rows

ACTIONS = {
    "start_order": Action.START,
    "pause_order": Action.PAUSE,
    "resume_order": Action.RESUME,
    "complete_order": Action.COMPLETE,
}


def apply_declarations(
    conn: Connection, edge_id: str, records: Sequence[DeclarationRecord], now: datetime
) -> bool:
    """Store and apply; return True when a work order's state changed."""
    numbers = sorted({r.body.work_order for r in records if r.body.work_order})
    status: dict[str, Status] = {}
    if numbers:
        query = select(WorkOrder.number, WorkOrder.status).where(WorkOrder.number.in_(numbers))
        status = {n: Status(s) for n, s in conn.execute(query)}
    changed: dict[str, Status] = {}
    scrap: dict[str, float] = {}
    rows = []
    for r in records:
        b = r.body
        applied = False
        if b.work_order in status and b.action in ACTIONS:
            try:
                status[b.work_order] = transition(status[b.work_order], ACTIONS[b.action]).after
                changed[b.work_order] = status[b.work_order]
                applied = True
            except Conflict:
                applied = False
        elif b.work_order in status and b.action == "scrap" and b.qty:
            scrap[b.work_order] = scrap.get(b.work_order, 0.0) + b.qty
            applied = True
        rows.append(_row(edge_id, r, applied))
    insert_rows(conn, dialect_insert(conn, Declaration), rows)
    _write(conn, changed, scrap, now)
    return bool(changed)


def _row(edge_id: str, r: DeclarationRecord, applied: bool) -> dict[str, Any]:
    return {"edge_id": edge_id, "seq": r.seq, "ts": r.ts, **r.body.model_dump(), "applied": applied}


def _write(
    conn: Connection, changed: dict[str, Status], scrap: dict[str, float], now: datetime
) -> None:
    for number in sorted(changed):
        new = changed[number]
        values: dict[str, Any] = {"status": new.value, "revision": WorkOrder.revision + 1}
        if new is Status.IN_PROGRESS:
            values["started_at"] = func.coalesce(WorkOrder.started_at, now)
        if new is Status.COMPLETED:
            values["completed_at"] = now
        conn.execute(update(WorkOrder).where(WorkOrder.number == number).values(**values))
    if scrap:
        conn.execute(
            update(WorkOrder)
            .where(WorkOrder.number == bindparam("n"))
            .values(qty_scrap=WorkOrder.qty_scrap + bindparam("q"))
            .execution_options(synchronize_session=False),
            [{"n": n, "q": q} for n, q in sorted(scrap.items())],
        )
