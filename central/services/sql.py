"""Backend-specific SQL the services share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, literal_column
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: Connection, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the connection's backend."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_rows(conn: Connection, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Execute an ``INSERT`` (``ON CONFLICT`` allowed) for every row, in row order.

    On PostgreSQL as one multi-row ``VALUES`` statement per 1000 rows: SQLAlchemy renders its
    "insertmanyvalues" batches only for ``INSERT … RETURNING`` on psycopg 3, and without them
    psycopg sends every row as its own prepared-statement execution (measured: a fifth of an
    ingest worker's CPU). Hence the ``RETURNING 1``, whose rows are not read. In one statement
    an ``ON CONFLICT DO UPDATE`` may not touch a row twice: callers merge keys first.
    """
    if not rows:
        return
    if len(rows) == 1:  # one execution, nothing to batch (and no statement built per call)
        conn.execute(stmt, rows[0])
        return
    if conn.dialect.name == "postgresql":
        stmt = stmt.returning(literal_column("1"))
    conn.execute(stmt, list(rows))
