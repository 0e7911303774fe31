"""Idempotent ingest of an edge's record batch, in one transaction.

1. Insert every record into ``record_log`` with ``ON CONFLICT DO NOTHING RETURNING seq``: the
   returned seqs are the records never seen before (a replay returns none of them; two workers
   racing on the same batch serialise on the primary key, and only one gets each seq).
2. Apply only those records, grouped by kind, with set-based statements (one executemany per
   table, not one statement per record) — see :mod:`central.services.apply`.
3. Advance the edge's ``acked_through`` to the end of the contiguous run of stored seqs.

Because the log insert and the effects commit together, a batch cut by a dropped connection is
either wholly applied or not at all, and its resend is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from central.contract import AckReply, TypedRecord, TypedRecordBatch
from central.db.tables import Edge, RecordLog
from central.services import apply
from central.services.sql import dialect_insert
from central.services.versions import bump_edges


def ingest_batch(
    *, session: Session, edge_id: str, batch: TypedRecordBatch, now: datetime
) -> AckReply:
    conn = session.connection()
    records = _unique(batch.records)
    stored = _log(conn, edge_id, records, now)
    fresh = [r for r in records if r.seq in stored]
    ctx = apply.Context(conn=conn, edge_id=edge_id, now=now)
    apply.apply_records(ctx, fresh)
    bump_edges(session, [edge_id] if ctx.dispatch_changed else [])
    acked = _advance(conn, edge_id, max(r.seq for r in records), now)
    session.commit()
    return AckReply(
        acked_through=acked, accepted=len(fresh), duplicates=len(batch.records) - len(fresh)
    )


def _unique(records: Sequence[TypedRecord]) -> list[TypedRecord]:
    """One record per seq (the first), sorted by seq: effects apply in the edge's order."""
    by_seq: dict[int, TypedRecord] = {}
    for record in records:
        by_seq.setdefault(record.seq, record)
    return [by_seq[s] for s in sorted(by_seq)]


def _log(conn: Connection, edge_id: str, records: list[TypedRecord], now: datetime) -> set[int]:
    rows = [
        {
            "edge_id": edge_id,
            "seq": r.seq,
            "kind": r.kind,
            "ts": r.ts,
            "received_at": now,
            "body": r.body.model_dump_json(),
        }
        for r in records
    ]
    stmt = (
        dialect_insert(conn, RecordLog)
        .on_conflict_do_nothing(index_elements=["edge_id", "seq"])
        .returning(RecordLog.seq)
    )
    return set(conn.execute(stmt, rows).scalars())


def _advance(conn: Connection, edge_id: str, batch_max: int, now: datetime) -> int:
    """Store and return the new ``acked_through`` (never moves back)."""
    stored = conn.execute(select(Edge.acked_through).where(Edge.id == edge_id)).scalar()
    if stored is None:
        conn.execute(
            dialect_insert(conn, Edge)
            .values(id=edge_id, name=edge_id, created_at=now, dispatch_version=1)
            .on_conflict_do_nothing(index_elements=["id"])
        )
    acked = int(stored or 0)
    acked = max(acked, _contiguous_end(conn, edge_id, acked))
    conn.execute(
        update(Edge)
        .where(Edge.id == edge_id)
        .values(
            last_seen_at=now,
            max_seq=func.max(Edge.max_seq, batch_max)
            if conn.dialect.name == "sqlite"
            else func.greatest(Edge.max_seq, batch_max),
            acked_through=func.max(Edge.acked_through, acked)
            if conn.dialect.name == "sqlite"
            else func.greatest(Edge.acked_through, acked),
        )
    )
    return acked


def _contiguous_end(conn: Connection, edge_id: str, acked: int) -> int:
    """Highest seq ``h`` such that every seq in ``acked+1 .. h`` is stored (``acked`` if none)."""
    first = conn.execute(
        select(RecordLog.seq).where(RecordLog.edge_id == edge_id, RecordLog.seq == acked + 1)
    ).first()
    if first is None:
        return acked
    nxt = aliased(RecordLog)
    gap = ~exists().where(nxt.edge_id == edge_id, nxt.seq == RecordLog.seq + 1)
    end = conn.execute(
        select(func.min(RecordLog.seq)).where(
            RecordLog.edge_id == edge_id, RecordLog.seq > acked, gap
        )
    ).scalar_one()
    return int(end)
