"""Alerts: raised idempotently by key, resolved when their cause is gone."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, select, update

from central.db.tables import Alert
from central.services.sql import dialect_insert, insert_rows

AlertSpec = tuple[str, str, str | None, str]  # key, kind, subject, message


def raise_alerts(
    conn: Connection, now: datetime, alerts: Iterable[AlertSpec], severity: str = "warning"
) -> None:
    """Open (or re-open, or refresh the message of) one alert per key; of several alerts
    with one key, the last in sorted order gives the message."""
    # one row per key: a single INSERT … ON CONFLICT DO UPDATE may not touch a row twice
    latest = {spec[0]: spec for spec in sorted(set(alerts))}
    rows = [
        {
            "key": key,
            "kind": kind,
            "subject": subject,
            "message": message,
            "severity": severity,
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
        }
        for key, kind, subject, message in latest.values()
    ]
    if not rows:
        return
    stmt = dialect_insert(conn, Alert)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "message": stmt.excluded.message,
            "severity": stmt.excluded.severity,
            "updated_at": stmt.excluded.updated_at,
            "resolved_at": None,
        },
    )
    insert_rows(conn, stmt, rows)


def resolve_missing(conn: Connection, now: datetime, kind: str, still: Collection[str]) -> int:
    """Resolve the open alerts of ``kind`` whose key is not in ``still``; return how many."""
    open_keys = conn.execute(
        select(Alert.key).where(Alert.kind == kind, Alert.resolved_at.is_(None))
    ).scalars()
    gone = sorted(set(open_keys) - set(still))
    if gone:
        conn.execute(
            update(Alert).where(Alert.key.in_(gone)).values(resolved_at=now, updated_at=now)
        )
    return len(gone)
