"""Versioned DuckDB schema of the edge store.

Each migration is a list of SQL statements applied in one transaction together with its row in
``schema_version``; a database is brought forward from whatever version it holds. Append new
migrations at the end, never edit an applied one. Times are UTC nanoseconds (BIGINT ``*_ns``)
except ``created`` (wall clock of the insert, for people).
"""

from __future__ import annotations

from typing import Any

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: initial schema
    (
        """CREATE TABLE samples (
            ts_ns BIGINT NOT NULL, machine VARCHAR NOT NULL, signal VARCHAR NOT NULL,
            value DOUBLE NOT NULL, ingest_id BIGINT NOT NULL)""",
        # Derived facts: kind in ('stop', 'state', 'cycles'); per-minute cycle summaries are
        # 'cycles' rows with start_ns on the minute.
        """CREATE TABLE events (
            machine VARCHAR NOT NULL, kind VARCHAR NOT NULL, start_ns BIGINT NOT NULL,
            end_ns BIGINT, state VARCHAR, reason VARCHAR, work_order VARCHAR,
            total BIGINT, good BIGINT, reject BIGINT, detail JSON, outbox_seq BIGINT)""",
        """CREATE TABLE production (
            machine VARCHAR NOT NULL, work_order VARCHAR, start_ns BIGINT NOT NULL,
            end_ns BIGINT NOT NULL, total BIGINT NOT NULL, good BIGINT NOT NULL,
            reject BIGINT NOT NULL, outbox_seq BIGINT)""",
        """CREATE TABLE declarations (
            id BIGINT PRIMARY KEY, ts_ns BIGINT NOT NULL, machine VARCHAR NOT NULL,
            kind VARCHAR NOT NULL, operator VARCHAR, body JSON NOT NULL, outbox_seq BIGINT)""",
        """CREATE TABLE dispatch (
            version BIGINT PRIMARY KEY, received_ns BIGINT NOT NULL, body JSON NOT NULL)""",
        """CREATE TABLE active_order (
            machine VARCHAR PRIMARY KEY, work_order VARCHAR, target BIGINT, since_ns BIGINT)""",
        """CREATE TABLE outbox (
            seq BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, ts_ns BIGINT NOT NULL,
            payload JSON NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now(),
            acked BOOLEAN NOT NULL DEFAULT false)""",
        """CREATE TABLE counter_baselines (
            machine VARCHAR NOT NULL, signal VARCHAR NOT NULL, ts_ns BIGINT NOT NULL,
            value DOUBLE NOT NULL, PRIMARY KEY (machine, signal))""",
        # Per-machine analytics state carried between incremental runs.
        """CREATE TABLE machine_state (
            machine VARCHAR PRIMARY KEY, state INTEGER, state_since_ns BIGINT,
            last_cycle_ns BIGINT, last_sample_ns BIGINT)""",
        """CREATE TABLE oee (
            machine VARCHAR NOT NULL, window_kind VARCHAR NOT NULL, window_start_ns BIGINT NOT NULL,
            window_end_ns BIGINT NOT NULL, shift VARCHAR, body JSON NOT NULL,
            PRIMARY KEY (machine, window_kind, window_start_ns))""",
        # Counters of the store itself: last analysed ingest id, last outbox seq, ...
        "CREATE TABLE kv (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO kv VALUES ('outbox_seq', 0), ('analysed_ingest_id', 0)",
    ),
    # 2: every active order a machine had and since when, so parts, scrap and stops go to the
    # order active when they happened, not to the one active when the analytics ran
    (
        """CREATE TABLE order_history (
            machine VARCHAR NOT NULL, since_ns BIGINT NOT NULL, work_order VARCHAR,
            PRIMARY KEY (machine, since_ns))""",
    ),
    # 3: order tracking and the tablet's tables, which older versions created on first use
    # (hence IF NOT EXISTS: a database from then may already hold them)
    (
        # an order's status as the operators set it on the tablet
        """CREATE TABLE IF NOT EXISTS tablet_orders (
            machine VARCHAR NOT NULL, work_order VARCHAR NOT NULL, status VARCHAR NOT NULL,
            since_ns BIGINT NOT NULL, PRIMARY KEY (machine, work_order))""",
        """CREATE TABLE IF NOT EXISTS order_bom (
            work_order VARCHAR NOT NULL, component VARCHAR NOT NULL, qty_per DOUBLE NOT NULL,
            uom VARCHAR, backflush BOOLEAN NOT NULL, PRIMARY KEY (work_order, component))""",
        """CREATE TABLE IF NOT EXISTS order_changes (
            machine VARCHAR NOT NULL, work_order VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            target BIGINT, received_ns BIGINT NOT NULL, status VARCHAR NOT NULL,
            resolved_ns BIGINT, PRIMARY KEY (machine, work_order, kind))""",
        """CREATE TABLE IF NOT EXISTS downlink (
            machine VARCHAR PRIMARY KEY, work_order VARCHAR, target BIGINT,
            status VARCHAR NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, last_error VARCHAR,
            updated_ns BIGINT NOT NULL)""",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(con: Any) -> int:
    """Apply pending migrations on a DuckDB connection; return the resulting version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    current = int(row[0]) if row else 0
    for version in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in MIGRATIONS[version - 1]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
