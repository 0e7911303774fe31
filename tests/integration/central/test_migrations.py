"""Migrations: the schema they build is the models' schema, and 0003 carries the per-record
log over into batches and runs (and back on downgrade) without losing a record; on SQLite
and on the real PostgreSQL, each in a fresh database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from central.db.migrate import alembic_config, migrate
from central.db.tables import Base
from central.services.ingest import logged_records
from tests.support.services import PG_URL, unavailable

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    if not PG_URL:
        unavailable("ATELIER_TEST_PG_URL is not set (PostgreSQL tests)")
    name = f"atelier_mig_{uuid.uuid4().hex[:12]}"
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {PG_URL} unreachable: {exc}")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_migrated_schema_is_the_models_schema(fresh_url: str) -> None:
    migrate(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


RECEIVED = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _old_row(edge: str, seq: int, reason: str) -> dict[str, object]:
    ts = datetime(2026, 1, 5, 7, 0, seq % 60, tzinfo=UTC)
    body = {"machine": "press-01", "start": "2026-01-05T07:00:00Z", "reason": reason}
    return {
        "edge_id": edge,
        "seq": seq,
        "kind": "stop",
        "ts": ts,
        "received_at": RECEIVED,
        "body": json.dumps(body, ensure_ascii=False),
    }


def test_0003_carries_every_record_over_and_back(fresh_url: str) -> None:
    migrate(fresh_url, "0002")
    # edge-a: seqs 1..1203 with a hole at 7 (more than one carried-over batch); edge-b: 3, 5
    rows = [_old_row("edge-a", s, f"jam é {s}") for s in range(1, 1204) if s != 7]
    rows += [_old_row("edge-b", s, "b") for s in (3, 5)]
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO record_log (edge_id, seq, kind, ts, received_at, body)"
                    " VALUES (:edge_id, :seq, :kind, :ts, :received_at, :body)"
                ),
                rows,
            )
        migrate(fresh_url, "0003")
        with engine.connect() as conn:
            runs = conn.execute(
                text("SELECT edge_id, first_seq, last_seq FROM record_runs ORDER BY 1, 2")
            ).all()
            got = {e: list(logged_records(conn, e)) for e in ("edge-a", "edge-b")}
        assert [tuple(r) for r in runs] == [
            ("edge-a", 1, 6),
            ("edge-a", 8, 1001),  # a carried-over batch holds 1000 records
            ("edge-a", 1002, 1203),
            ("edge-b", 3, 3),
            ("edge-b", 5, 5),
        ]
        for edge in ("edge-a", "edge-b"):
            expected = [r for r in rows if r["edge_id"] == edge]
            assert [r["seq"] for r in got[edge]] == [r["seq"] for r in expected]
            for was, now in zip(expected, got[edge], strict=True):
                assert now["kind"] == "stop"
                assert datetime.fromisoformat(now["ts"]) == was["ts"]
                assert now["body"] == json.loads(str(was["body"]))
        command.downgrade(alembic_config(fresh_url), "0002")
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT edge_id, seq, kind, body FROM record_log ORDER BY edge_id, seq")
            ).all()
        assert [(r[0], r[1], r[2], json.loads(r[3])) for r in back] == [
            (r["edge_id"], r["seq"], r["kind"], json.loads(str(r["body"]))) for r in rows
        ]
    finally:
        engine.dispose()
