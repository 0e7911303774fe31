"""Engine and session factory for SQLite (default) and PostgreSQL (psycopg 3).

A sync engine: FastAPI runs sync routes in its threadpool and the code stays plain. On
psycopg 3, SQLAlchemy batches many-row inserts into multi-row statements ("insertmanyvalues")
only for ``INSERT ... RETURNING``; plain ``executemany`` runs one prepared statement per row,
so many-row inserts go through :func:`central.services.sql.insert_rows`. Only the long-poll
route is async; it touches the database through the threadpool.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine with the settings each backend needs for concurrent use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per checkout (one in ten of an ingest transaction's).
    # A connection the server dropped fails its request once; SQLAlchemy then sees the
    # disconnect and invalidates the whole pool, and the edge's retry gets a fresh connection
    # (ingest is idempotent). Recycling keeps idle connections younger than a typical
    # firewall or pgbouncer idle timeout.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable across process
    # crashes (only an OS crash may lose the last commits); busy_timeout queues writers.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
