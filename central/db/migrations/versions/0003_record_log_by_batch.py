"""the record log keeps each batch as received, and runs of seqs, instead of a row per record

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 06:10:00

``record_log`` (a row per record) becomes ``record_batches`` (a row per request body that
stored something new, kept as received) and ``record_runs`` (which consecutive seqs each
batch stored first). Existing rows are carried over: each edge's records, in seq order, are
written as batches of up to 1000 records built from the stored seq, kind, ts and body; the
downgrade expands the batches back into one row per stored record.
"""

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

record_log = sa.table(
    "record_log",
    sa.column("edge_id", sa.String),
    sa.column("seq", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("ts", sa.DateTime(timezone=True)),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("body", sa.Text),
)
record_batches = sa.table(
    "record_batches",
    sa.column("id", Id),
    sa.column("edge_id", sa.String),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("records", sa.Integer),
    sa.column("body", sa.Text),
)
record_runs = sa.table(
    "record_runs",
    sa.column("edge_id", sa.String),
    sa.column("first_seq", sa.BigInteger),
    sa.column("last_seq", sa.BigInteger),
    sa.column("batch_id", Id),
)


def upgrade() -> None:
    op.create_table(
        "record_batches",
        sa.Column("id", Id, nullable=False),
        sa.Column("edge_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_batches")),
    )
    with op.batch_alter_table("record_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_batches_edge_id"), ["edge_id"], unique=False)
    if _has_lz4(op.get_bind()):
        # bodies are compressed when stored (JSON, ~100 kB a batch): lz4 costs the server
        # a fraction of the default pglz's CPU for a similar ratio
        op.execute("ALTER TABLE record_batches ALTER COLUMN body SET COMPRESSION lz4")
    op.create_table(
        "record_runs",
        sa.Column("edge_id", sa.String(length=200), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["record_batches.id"],
            name=op.f("fk_record_runs_batch_id_record_batches"),
        ),
        sa.PrimaryKeyConstraint("edge_id", "first_seq", name=op.f("pk_record_runs")),
    )
    with op.batch_alter_table("record_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_runs_batch_id"), ["batch_id"], unique=False)
    _carry_records_over(op.get_bind())
    op.drop_table("record_log")


def downgrade() -> None:
    op.create_table(
        "record_log",
        sa.Column("edge_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("edge_id", "seq", name=op.f("pk_record_log")),
    )
    _expand_batches(op.get_bind())
    op.drop_table("record_runs")
    op.drop_table("record_batches")


def _has_lz4(conn: sa.Connection) -> bool:
    """PostgreSQL built with lz4 (14 and later, where the build has it)."""
    if conn.dialect.name != "postgresql":
        return False
    query = "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    return "lz4" in (conn.execute(sa.text(query)).scalar() or [])


def _utc(value: Any) -> datetime:
    """An aware UTC datetime from what a row or a record holds (text, Unix time, naive)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _bind(conn: sa.Connection, value: Any) -> datetime:
    """As the app's ``UTCDateTime`` stores it: naive UTC on SQLite."""
    utc = _utc(value)
    return utc.replace(tzinfo=None) if conn.dialect.name == "sqlite" else utc


def _carry_records_over(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(record_log).order_by(record_log.c.edge_id, record_log.c.seq))
    chunk: list[Any] = []
    for row in rows:
        if chunk and (row.edge_id != chunk[0].edge_id or len(chunk) == CHUNK):
            _write_batch(conn, chunk)
            chunk = []
        chunk.append(row)
    if chunk:
        _write_batch(conn, chunk)


def _write_batch(conn: sa.Connection, rows: list[Any]) -> None:
    entries = ",".join(
        '{"seq":%d,"kind":%s,"ts":%s,"body":%s}'
        % (r.seq, json.dumps(r.kind), json.dumps(_utc(r.ts).isoformat()), r.body)
        for r in rows
    )
    batch_id = conn.execute(
        sa.insert(record_batches)
        .values(
            edge_id=rows[0].edge_id,
            received_at=_bind(conn, max(_utc(r.received_at) for r in rows)),
            records=len(rows),
            body='{"records":[' + entries + "]}",
        )
        .returning(record_batches.c.id)
    ).scalar_one()
    conn.execute(
        sa.insert(record_runs),
        [
            {"edge_id": rows[0].edge_id, "first_seq": f, "last_seq": last, "batch_id": batch_id}
            for f, last in _runs([r.seq for r in rows])
        ],
    )


def _runs(seqs: list[int]) -> Iterator[tuple[int, int]]:
    first = prev = seqs[0]
    for seq in seqs[1:]:
        if seq != prev + 1:
            yield first, prev
            first = seq
        prev = seq
    yield first, prev


def _expand_batches(conn: sa.Connection) -> None:
    query = (
        sa.select(record_runs, record_batches.c.body, record_batches.c.received_at)
        .join(record_batches, record_batches.c.id == record_runs.c.batch_id)
        .order_by(record_runs.c.edge_id, record_runs.c.first_seq)
    )
    for run in conn.execute(query).all():
        first: dict[int, dict[str, Any]] = {}
        for rec in json.loads(run.body)["records"]:
            if run.first_seq <= rec["seq"] <= run.last_seq:
                first.setdefault(rec["seq"], rec)
        conn.execute(
            sa.insert(record_log),
            [
                {
                    "edge_id": run.edge_id,
                    "seq": seq,
                    "kind": rec["kind"],
                    "ts": _bind(conn, rec["ts"]),
                    "received_at": _bind(conn, run.received_at),
                    "body": json.dumps(rec["body"], separators=(",", ":")),
                }
                for seq, rec in sorted(first.items())
            ],
        )
