"""Idempotent ingest of an edge's record batch, in one transaction.

0. Lock the edge's row (``UPDATE edges … RETURNING``): batches of one edge apply one at a
   time, batches of different edges in parallel.
1. Find the batch's new records. Every seq up to the edge's ``acked_through`` is stored (the
   ack is the end of the contiguous stored run from 1); a seq above ``max_seq`` is new; only
   seqs between the two (a batch that arrived out of order) are looked up in the record runs.
2. Log them: the request body as received (``record_batches``) and the runs of consecutive
   new seqs it holds (``record_runs``). A batch with nothing new logs nothing.
3. Apply only the new records, grouped by kind, with set-based statements (one statement per
   table, or per kind) — see :mod:`central.services.apply`.
4. Advance the edge's ``acked_through`` to the end of the contiguous run of stored seqs.

Because the log and the effects commit together, a batch cut by a dropped connection is either
wholly applied or not at all, and its resend is applied exactly once.

Why a row per batch and per run of seqs, not a row per record: the per-record log cost the
database an index entry and a heap row per record and the worker an array element of four
columns per record; on 500-record batches that was more than half of all the CPU an ingest
took (PostgreSQL backend ~10 µs and worker ~5 µs per record, of ~40 µs in all), and the
body each record carried was re-serialised by the worker, not the bytes the edge sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from central.contract import AckReply, TypedRecord, TypedRecordBatch
from central.db.tables import Edge, RecordBatch, RecordRun, UTCDateTime
from central.services import apply
from central.services.sql import dialect_insert, insert_rows
from central.services.versions import bump_edges

PAGE = 5000

# Built once: a statement built per batch cost more of the worker's CPU (construction, cache
# key) than executing it. Core tables, not the mapped classes: no ORM bulk-update path.
_edges, _batches, _runs_table = (cast(Table, m.__table__) for m in (Edge, RecordBatch, RecordRun))
_NOW = bindparam("now", type_=UTCDateTime())
_CLAIM = (
    update(_edges)
    .where(_edges.c.id == bindparam("edge"))
    .values(last_seen_at=_NOW)
    .returning(_edges.c.acked_through, _edges.c.max_seq)
)
_ACK = (
    update(_edges)
    .where(_edges.c.id == bindparam("edge"))
    .values(
        acked_through=bindparam("acked", type_=BigInteger()),
        max_seq=bindparam("top", type_=BigInteger()),
    )
)
_LOG_BATCH = (
    insert(_batches)
    .values(
        edge_id=bindparam("edge"),
        received_at=_NOW,
        records=bindparam("count"),
        body=bindparam("body"),
    )
    .returning(_batches.c.id)
)
_LOG_RUN = insert(_runs_table)


def ingest_batch(
    *,
    session: Session,
    edge_id: str,
    batch: TypedRecordBatch,
    now: datetime,
    raw: bytes | None = None,
) -> AckReply:
    """Store and apply ``batch`` (parsed from ``raw``, the request body, which the log keeps;
    without it the log keeps the batch as serialised here)."""
    conn = session.connection()
    records = _unique(batch.records)
    seqs = [r.seq for r in records]
    acked, max_seq = _claim_edge(conn, edge_id, now)
    new = _new_seqs(conn, edge_id, seqs, acked, max_seq)
    runs = _runs(new) if new else []
    if runs:
        body = raw.decode("utf-8", "replace") if raw is not None else batch.model_dump_json()
        _log(conn, edge_id, runs, body, len(batch.records), now)
    moved = _extend(acked, runs)
    top = max(max_seq, seqs[-1])
    if moved < top:  # seqs beyond the batch were stored earlier, or a gap remains
        moved = _stored_end(conn, edge_id, moved, top)
    if (moved, top) != (acked, max_seq):
        conn.execute(_ACK, {"edge": edge_id, "acked": moved, "top": top})
    if len(new) < len(records):
        kept = set(new)
        records = [r for r in records if r.seq in kept]
    ctx = apply.Context(conn=conn, edge_id=edge_id, now=now)
    apply.apply_records(ctx, records)
    bump_edges(session, [edge_id] if ctx.dispatch_changed else [])
    session.commit()
    return AckReply(
        acked_through=moved, accepted=len(new), duplicates=len(batch.records) - len(new)
    )


def _claim_edge(conn: Connection, edge_id: str, now: datetime) -> tuple[int, int]:
    """Lock the edge's row for this transaction (one batch per edge at a time, so the ack is
    exact) and return its ``acked_through`` and ``max_seq``; create the row if missing."""
    params = {"edge": edge_id, "now": now}
    row = conn.execute(_CLAIM, params).one_or_none()
    if row is None:
        _create_edge(conn, edge_id, now)
        row = conn.execute(_CLAIM, params).one()
    return int(row[0]), int(row[1])


def _create_edge(conn: Connection, edge_id: str, now: datetime) -> None:
    conn.execute(
        dialect_insert(conn, Edge)
        .values(id=edge_id, name=edge_id, created_at=now, dispatch_version=1)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def _new_seqs(
    conn: Connection, edge_id: str, seqs: Sequence[int], acked: int, max_seq: int
) -> list[int]:
    """The seqs (sorted, unique) that no run of the edge holds yet."""
    above = [s for s in seqs if s > acked]
    if not above or above[0] > max_seq:
        return above
    # No run straddles ``acked`` (it ends a run), so the runs that may hold a seq in
    # acked+1 .. max_seq start above it: an index range on the primary key.
    held = conn.execute(
        select(RecordRun.first_seq, RecordRun.last_seq)
        .where(
            RecordRun.edge_id == edge_id,
            RecordRun.first_seq > acked,
            RecordRun.first_seq <= min(above[-1], max_seq),
        )
        .order_by(RecordRun.first_seq)
    ).all()
    new, i = [], 0
    for seq in above:
        while i < len(held) and held[i][1] < seq:
            i += 1
        if i == len(held) or seq < held[i][0]:
            new.append(seq)
    return new


def _log(
    conn: Connection,
    edge_id: str,
    runs: list[tuple[int, int]],
    body: str,
    count: int,
    now: datetime,
) -> None:
    params = {"edge": edge_id, "now": now, "count": count, "body": body}
    batch_id = conn.execute(_LOG_BATCH, params).scalar_one()
    rows = [
        {"edge_id": edge_id, "first_seq": first, "last_seq": last, "batch_id": batch_id}
        for first, last in runs
    ]
    insert_rows(conn, _LOG_RUN, rows)


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """First and last seq of each run of consecutive seqs (``seqs`` sorted, unique)."""
    runs = []
    first = prev = seqs[0]
    for seq in seqs[1:]:
        if seq != prev + 1:
            runs.append((first, prev))
            first = seq
        prev = seq
    runs.append((first, prev))
    return runs


def _extend(acked: int, runs: Sequence[tuple[int, int]]) -> int:
    """Extend the ack through the runs (sorted, above it) that continue it: the batch's new
    runs (usually all of them), or a page of stored ones."""
    for first, last in runs:
        if first != acked + 1:
            break
        acked = last
    return acked


def _stored_end(conn: Connection, edge_id: str, acked: int, max_seq: int) -> int:
    """Highest ``h`` such that every seq in ``acked+1 .. h`` is stored: only needed when seqs
    beyond the batch were stored earlier (out-of-order arrival); read a page at a time."""
    while acked < max_seq:
        page = conn.execute(
            select(RecordRun.first_seq, RecordRun.last_seq)
            .where(RecordRun.edge_id == edge_id, RecordRun.first_seq > acked)
            .order_by(RecordRun.first_seq)
            .limit(PAGE)
        ).all()
        moved = _extend(acked, page)
        if len(page) < PAGE or moved != page[-1][1]:  # the walk stopped in this page
            return moved
        acked = moved
    return acked


def _unique(records: Sequence[TypedRecord]) -> list[TypedRecord]:
    """One record per seq (the first), sorted by seq: effects apply in the edge's order."""
    by_seq: dict[int, TypedRecord] = {}
    for record in records:
        by_seq.setdefault(record.seq, record)
    return [by_seq[s] for s in sorted(by_seq)]


def logged_records(
    conn: Connection, edge_id: str, first: int = 1, last: int | None = None
) -> Iterator[dict[str, Any]]:
    """The stored records of an edge with seq in ``first..last``, in seq order, each as the
    edge sent it (``{"seq", "ts", "kind", "body"}`` from the logged request body): the audit
    view of the record log."""
    query = (
        select(RecordRun.first_seq, RecordRun.last_seq, RecordBatch.body)
        .join(RecordBatch, RecordBatch.id == RecordRun.batch_id)
        .where(RecordRun.edge_id == edge_id, RecordRun.last_seq >= first)
        .order_by(RecordRun.first_seq)
    )
    if last is not None:
        query = query.where(RecordRun.first_seq <= last)
    for lo, hi, body in conn.execute(query):
        lo, hi = max(lo, first), hi if last is None else min(hi, last)
        found: dict[int, dict[str, Any]] = {}
        for record in json.loads(body)["records"]:
            if lo <= record["seq"] <= hi:
                found.setdefault(record["seq"], record)  # the first copy of a seq was stored
        yield from (found[seq] for seq in sorted(found))
