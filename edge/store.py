"""The edge's DuckDB store: raw samples, derived facts, declarations, dispatch and the outbox.

A :class:`Store` owns one DuckDB connection and is used from ONE thread only (the writer thread
of :class:`edge.writer.StoreWriter`); nothing here is async. Times are UTC nanoseconds.

Outbox invariant: every fact that central must receive is written in the same transaction as its
outbox row (:meth:`Transaction.outbox`), whose ``seq`` comes from a counter in ``kv`` bumped in
that transaction, so sequence numbers are gap-free and never reused, even after the acked rows
have been deleted by retention.

Errors::

    StoreError
    └── StoreUnavailable   the file cannot be opened or written (disk full, read-only dir, ...)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from central.contract import BODY_MODELS
from connectors.base import SampleColumns
from edge.schema import migrate

DB_FILENAME = "edge.duckdb"


class StoreError(Exception):
    """Base of the store's errors."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or written; retried by the caller, nothing is acked."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    seq: int
    kind: str
    ts_ns: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxStats:
    last_seq: int
    acked_through: int
    backlog: int
    oldest_pending_ns: int | None


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    good: int
    reject: int


@dataclass(frozen=True, slots=True)
class ActiveOrder:
    machine: str
    work_order: str | None
    target: int | None
    since_ns: int | None


def validated_body(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` checked against the contract's model for ``kind``, as JSON-ready data."""
    model = BODY_MODELS.get(kind)
    if model is None:
        raise StoreError(f"unknown record kind {kind!r}")
    return model.model_validate(dict(body)).model_dump(mode="json")


SignalSeries = tuple[np.ndarray, np.ndarray]  # (ts_ns int64, value float64), ordered by time


def read_series(
    con: duckdb.DuckDBPyConnection,
    where: str,
    params: Sequence[Any],
    *,
    signals: Sequence[str] | None = None,
) -> dict[str, dict[str, SignalSeries]]:
    """Samples matching ``where`` (and one of ``signals`` if given), as
    ``{machine: {signal: (ts_ns, values)}}``, time-ordered.

    The (machine, signal) groups first, then one query per group for the numeric columns only,
    sorted by numpy only when a series is out of time order (appended samples rarely are). One
    query with the names
    on every row and ``ORDER BY machine, signal, ts_ns`` made a Python string per row and a
    sort on string keys: for the open hour of a fast counter that took 8x the time and peaked
    hundreds of MB higher. Run inside one transaction (the writer's, or a read-only
    connection) so that every query sees the same rows.
    """
    if signals is not None:
        where = f"({where}) AND signal IN ({', '.join('?' * len(signals))})"
        params = [*params, *signals]
    groups = con.execute(
        f"SELECT DISTINCT machine, signal FROM samples WHERE {where}", list(params)
    ).fetchall()
    out: dict[str, dict[str, SignalSeries]] = {}
    for machine, signal in sorted(groups):
        cols = con.execute(
            f"SELECT ts_ns, value FROM samples WHERE ({where}) AND machine = ? AND signal = ?",
            [*params, machine, signal],
        ).fetchnumpy()
        ts = np.asarray(cols["ts_ns"], np.int64)
        values = np.asarray(cols["value"], np.float64)
        if ts.size > 1 and not (ts[1:] >= ts[:-1]).all():
            order = np.argsort(ts, kind="stable")
            ts, values = ts[order], values[order]
        out.setdefault(str(machine), {})[str(signal)] = (ts, values)
    return out


class Transaction:
    """An open DuckDB transaction; ``outbox()`` appends a record with the next gap-free seq."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def outbox(self, kind: str, ts_ns: int, payload: Mapping[str, Any]) -> int:
        row = self.con.execute(
            "UPDATE kv SET value = value + 1 WHERE key = 'outbox_seq' RETURNING value"
        ).fetchone()
        assert row is not None
        seq = int(row[0])
        self.con.execute(
            "INSERT INTO outbox (seq, kind, ts_ns, payload) VALUES (?, ?, ?, ?)",
            [seq, kind, ts_ns, json.dumps(payload, separators=(",", ":"), default=str)],
        )
        return seq

    def get_kv(self, key: str, default: int = 0) -> int:
        row = self.con.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchone()
        return int(row[0]) if row else default

    def set_kv(self, key: str, value: int) -> None:
        self.con.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", [key, value])


# The edge's share of memory for DuckDB (bench/edge_ingest.py: peak RSS at full ingest).
# - ``memory_limit``: the buffer pool keeps appended blocks until it reaches the limit, so the
#   limit is DuckDB's steady-state footprint. Appends and the analytics' reads (about a minute
#   of samples, see edge.runtime.slices) fit in 32 MB; a bigger query spills to the
#   database's temporary directory.
# - ``allocator_flush_threshold``: DuckDB's allocator hands memory back to the system after a
#   task that peaked above this (default 128 MB: the edge's RSS kept growing by that much).
# Measured (QoS 0, one run each, same code otherwise): 128 MB and the default flush 354 MB
# peak RSS; 64 MB 346 MB; 32 MB with an 8 MB flush 296, 308 and 329 MB (QoS 1: 260 MB).
MEMORY_LIMIT = "32MB"
ALLOCATOR_FLUSH = "8MB"


class Store:
    """One DuckDB file under ``data_dir``; open/close explicitly, from one thread."""

    def __init__(
        self, data_dir: Path, *, memory_limit: str = MEMORY_LIMIT, read_only: bool = False
    ) -> None:
        self.path = Path(data_dir) / DB_FILENAME
        self._memory_limit = memory_limit
        self._read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._next_ingest_id = 1

    @property
    def is_open(self) -> bool:
        return self._con is not None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreUnavailable(f"store {self.path} is not open")
        return self._con

    def open(self) -> None:
        """Create the directory and file if needed, migrate, and check that it is writable."""
        if self._con is not None:
            return
        if self._read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK):
                raise PermissionError(f"directory {self.path.parent} is not writable")
            con = duckdb.connect(str(self.path))
        except (OSError, duckdb.Error) as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
        try:
            con.execute(f"SET memory_limit = '{self._memory_limit}'")
            con.execute("SET threads = 1")  # one writer; the cores belong to the connectors
            con.execute(f"SET allocator_flush_threshold = '{ALLOCATOR_FLUSH}'")
            con.execute("SET allocator_background_threads = true")
            migrate(con)
            row = con.execute("SELECT coalesce(max(ingest_id), 0) FROM samples").fetchone()
            self._next_ingest_id = (int(row[0]) if row else 0) + 1
        except (OSError, duckdb.Error) as exc:
            con.close()
            raise StoreUnavailable(f"cannot initialise {self.path}: {exc}") from exc
        self._con = con

    def _open_read_only(self) -> None:
        if not self.path.exists():
            raise StoreUnavailable(f"no edge database at {self.path}")
        try:
            con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:  # most often: the running agent holds the write lock
            raise StoreUnavailable(f"cannot open {self.path} read-only: {exc}") from exc
        self._con = con

    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            # Closing after a fatal I/O error may fail too: the file is reopened from its WAL.
            with contextlib.suppress(duckdb.Error):
                con.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """BEGIN ... COMMIT (ROLLBACK on error); I/O errors become StoreUnavailable."""
        con = self.con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield Transaction(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        # A full disk surfaces as IOException, or as TransactionException ("Failed to commit:
        # Could not write file") at COMMIT: both are OperationalErrors.
        except (OSError, duckdb.OperationalError, duckdb.FatalException) as exc:
            self.close()  # DuckDB invalidates the database after a fatal error: reopen later
            raise StoreUnavailable(f"write to {self.path} failed: {exc}") from exc

    # --- samples ---------------------------------------------------------------------------

    def append_samples(self, columns: SampleColumns) -> int:
        """Append samples in one transaction; return the batch's ingest id.

        DuckDB scans the numpy columns directly; the names go in as two small lists that the
        codes index, so no string is built per row in Python.
        """
        ingest_id = self._next_ingest_id
        incoming = {
            "ts_ns": np.ascontiguousarray(columns.ts_ns, np.int64),
            "machine_idx": np.ascontiguousarray(columns.machine_idx, np.int32),
            "signal_idx": np.ascontiguousarray(columns.signal_idx, np.int32),
            "value": np.ascontiguousarray(columns.value, np.float64),
        }
        with self.transaction() as tx:
            tx.con.register("incoming_samples", incoming)
            try:
                tx.con.execute(
                    "INSERT INTO samples SELECT ts_ns, "
                    "list_extract($machines::VARCHAR[], machine_idx + 1), "
                    "list_extract($signals::VARCHAR[], signal_idx + 1), value, $ingest_id "
                    "FROM incoming_samples",
                    {
                        "machines": list(columns.machines),
                        "signals": list(columns.signals),
                        "ingest_id": ingest_id,
                    },
                )
            finally:
                tx.con.unregister("incoming_samples")
        self._next_ingest_id = ingest_id + 1
        return ingest_id

    def read_samples(
        self,
        *,
        from_ns: int,
        to_ns: int,
        machine: str | None = None,
        signals: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]:
        """Raw samples with ``from_ns <= ts_ns < to_ns`` ordered by machine, signal, time."""
        sql = "SELECT ts_ns, machine, signal, value FROM samples WHERE ts_ns >= ? AND ts_ns < ?"
        params: list[Any] = [from_ns, to_ns]
        if machine is not None:
            sql += " AND machine = ?"
            params.append(machine)
        if signals is not None:
            sql += f" AND signal IN ({', '.join('?' * len(signals))})"
            params.extend(signals)
        sql += " ORDER BY machine, signal, ts_ns"
        return dict(self.con.execute(sql, params).fetchnumpy())

    def last_sample_times(self) -> dict[tuple[str, str], tuple[int, float]]:
        """Latest (ts_ns, value) of every (machine, signal) — for the live view after a restart."""
        rows = self.con.execute(
            "SELECT machine, signal, max(ts_ns), arg_max(value, ts_ns) FROM samples "
            "GROUP BY machine, signal"
        ).fetchall()
        return {(m, s): (int(t), float(v)) for m, s, t, v in rows}

    # --- outbox ----------------------------------------------------------------------------

    def outbox_pending(self, limit: int = 1000) -> list[OutboxRecord]:
        rows = self.con.execute(
            "SELECT seq, kind, ts_ns, payload FROM outbox WHERE NOT acked ORDER BY seq LIMIT ?",
            [limit],
        ).fetchall()
        return [OutboxRecord(int(s), str(k), int(t), json.loads(p)) for s, k, t, p in rows]

    def outbox_ack(self, through_seq: int) -> int:
        """Mark every record with ``seq <= through_seq`` acked; return how many changed."""
        with self.transaction() as tx:
            row = tx.con.execute(
                "UPDATE outbox SET acked = true WHERE seq <= ? AND NOT acked", [through_seq]
            ).fetchone()
            tx.set_kv("outbox_acked_through", max(through_seq, tx.get_kv("outbox_acked_through")))
        return int(row[0]) if row else 0

    def outbox_stats(self) -> OutboxStats:
        con = self.con
        last = con.execute("SELECT value FROM kv WHERE key = 'outbox_seq'").fetchone()
        acked = con.execute("SELECT value FROM kv WHERE key = 'outbox_acked_through'").fetchone()
        pending = con.execute("SELECT count(*), min(ts_ns) FROM outbox WHERE NOT acked").fetchone()
        assert last is not None and pending is not None
        return OutboxStats(
            last_seq=int(last[0]),
            acked_through=int(acked[0]) if acked else 0,
            backlog=int(pending[0]),
            oldest_pending_ns=None if pending[1] is None else int(pending[1]),
        )

    def outbox_seqs(self) -> list[int]:
        """Every seq still stored, ascending (tests and diagnostics)."""
        return [
            int(r[0]) for r in self.con.execute("SELECT seq FROM outbox ORDER BY seq").fetchall()
        ]

    def record(self, kind: str, ts_ns: int, body: Mapping[str, Any]) -> int:
        """Append one fact for central on its own (validated against ``central.contract``).

        For a fact that also lives in a table of its own, write both inside
        :meth:`transaction` with :meth:`Transaction.outbox` instead.
        """
        payload = validated_body(kind, body)
        with self.transaction() as tx:
            return tx.outbox(kind, ts_ns, payload)

    def record_if_changed(self, kind: str, ts_ns: int, body: Mapping[str, Any], key: str) -> int:
        """Like :meth:`record`, unless the same body was recorded last under ``key``; 0 then."""
        payload = validated_body(kind, body)
        digest = int.from_bytes(
            hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).digest()[:7], "big"
        )
        with self.transaction() as tx:
            if tx.get_kv(key, -1) == digest:
                return 0
            tx.set_kv(key, digest)
            return tx.outbox(kind, ts_ns, payload)

    # --- operator declarations, dispatch, active orders --------------------------------------

    def add_declaration(
        self, *, machine: str, kind: str, ts_ns: int, body: Mapping[str, Any], operator: str | None
    ) -> tuple[int, int]:
        """Store an operator declaration and its outbox record together; return (id, seq)."""
        with self.transaction() as tx:
            row = tx.con.execute("SELECT coalesce(max(id), 0) + 1 FROM declarations").fetchone()
            assert row is not None
            decl_id = int(row[0])
            payload = {"machine": machine, "kind": kind, "operator": operator, **body}
            seq = tx.outbox("declaration", ts_ns, payload)
            tx.con.execute(
                "INSERT INTO declarations VALUES (?, ?, ?, ?, ?, ?, ?)",
                [decl_id, ts_ns, machine, kind, operator, json.dumps(dict(body)), seq],
            )
        return decl_id, seq

    def save_dispatch(self, *, version: int, received_ns: int, body: Mapping[str, Any]) -> None:
        with self.transaction() as tx:
            tx.con.execute(
                "INSERT OR REPLACE INTO dispatch VALUES (?, ?, ?)",
                [version, received_ns, json.dumps(dict(body), default=str)],
            )

    def latest_dispatch(self) -> tuple[int, dict[str, Any]] | None:
        row = self.con.execute(
            "SELECT version, body FROM dispatch ORDER BY version DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def set_active_order(
        self, *, machine: str, work_order: str | None, target: int | None, since_ns: int
    ) -> None:
        with self.transaction() as tx:
            tx.con.execute(
                "INSERT OR REPLACE INTO active_order VALUES (?, ?, ?, ?)",
                [machine, work_order, target, since_ns],
            )

    def active_orders(self) -> dict[str, ActiveOrder]:
        rows = self.con.execute("SELECT machine, work_order, target, since_ns FROM active_order")
        return {
            m: ActiveOrder(m, w, None if t is None else int(t), None if s is None else int(s))
            for m, w, t, s in rows.fetchall()
        }

    # --- derived facts -----------------------------------------------------------------------

    def production_counts(self, *, from_ns: int, to_ns: int) -> dict[str, Counts]:
        """Counts per machine from the production facts whose period ends in ``(from, to]``."""
        rows = self.con.execute(
            "SELECT machine, sum(total), sum(good), sum(reject) FROM production "
            "WHERE end_ns > ? AND end_ns <= ? GROUP BY machine",
            [from_ns, to_ns],
        ).fetchall()
        return {m: Counts(int(t), int(g), int(r)) for m, t, g, r in rows}

    def events(self, *, machine: str, kind: str, from_ns: int, to_ns: int) -> list[dict[str, Any]]:
        cur = self.con.execute(
            "SELECT * FROM events WHERE machine = ? AND kind = ? "
            "AND start_ns >= ? AND start_ns < ? ORDER BY start_ns",
            [machine, kind, from_ns, to_ns],
        )
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def retention(self, *, samples_before_ns: int) -> dict[str, int]:
        """Delete raw samples older than the cutoff, and acked outbox rows and their events."""
        with self.transaction() as tx:
            acked = tx.get_kv("outbox_acked_through")
            deleted = {
                "samples": "DELETE FROM samples WHERE ts_ns < ?",
                "events": "DELETE FROM events WHERE coalesce(end_ns, start_ns) < ? "
                "AND (outbox_seq IS NULL OR outbox_seq <= ?)",
                "production": "DELETE FROM production WHERE end_ns < ? AND outbox_seq <= ?",
                "outbox": "DELETE FROM outbox WHERE ts_ns < ? AND acked AND seq <= ?",
            }
            counts: dict[str, int] = {}
            for name, sql in deleted.items():
                params = [samples_before_ns] if name == "samples" else [samples_before_ns, acked]
                row = tx.con.execute(sql, params).fetchone()
                counts[name] = int(row[0]) if row else 0
        return counts
