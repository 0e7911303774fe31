"""The DuckDB store on a real file: migrations, column appends, outbox seq, retention."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from connectors.base import SampleColumns
from edge.schema import SCHEMA_VERSION
from edge.store import Store, StoreUnavailable, read_series
from tests.unit.edge.conftest import sample_columns


def _table(
    n: int, *, start_ns: int = 0, machine: str = "m1", signal: str = "count"
) -> SampleColumns:
    return sample_columns(
        range(start_ns, start_ns + n), machine, signal, [float(i) for i in range(n)]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "data")
    s.open()
    yield s
    s.close()


def test_open_creates_file_and_migrates(store: Store) -> None:
    assert store.path.exists()
    row = store.con.execute("SELECT max(version) FROM schema_version").fetchone()
    assert row == (SCHEMA_VERSION,)


def test_reopen_keeps_data_and_does_not_remigrate(tmp_path: Path) -> None:
    s = Store(tmp_path)
    s.open()
    s.append_samples(_table(10))
    s.close()
    s.open()
    assert s.con.execute("SELECT count(*) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    assert s.con.execute("SELECT count(*) FROM samples").fetchone() == (10,)
    # ingest ids continue after the stored ones
    assert s.append_samples(_table(5, start_ns=100)) == 2
    s.close()


def test_append_samples_from_columns(store: Store) -> None:
    first = store.append_samples(_table(1000))
    second = store.append_samples(_table(500, start_ns=10_000, machine="m2"))
    assert (first, second) == (1, 2)
    rows = store.con.execute(
        "SELECT machine, count(*), sum(value), min(ingest_id), max(ingest_id) FROM samples "
        "GROUP BY machine ORDER BY machine"
    ).fetchall()
    assert rows == [
        ("m1", 1000, float(sum(range(1000))), 1, 1),
        ("m2", 500, float(sum(range(500))), 2, 2),
    ]
    got = store.read_samples(from_ns=10_000, to_ns=10_010, machine="m2")
    assert got["ts_ns"].tolist() == list(range(10_000, 10_010))


def test_outbox_seq_is_gap_free_and_survives_retention(store: Store) -> None:
    for i in range(3):
        with store.transaction() as tx:
            assert tx.outbox("production", i, {"good": i}) == i + 1
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.outbox("production", 9, {"good": 9})
        raise RuntimeError("rolled back: its seq must be reused by the next record")
    assert store.outbox_seqs() == [1, 2, 3]
    assert store.outbox_ack(2) == 2
    stats = store.outbox_stats()
    assert (stats.last_seq, stats.acked_through, stats.backlog) == (3, 2, 1)
    assert [r.seq for r in store.outbox_pending()] == [3]
    assert store.outbox_ack(3) == 1
    deleted = store.retention(samples_before_ns=10**18)
    assert deleted["outbox"] == 3
    with store.transaction() as tx:
        assert tx.outbox("oee", 5, {"oee": 0.5}) == 4  # never reuses a deleted seq
    assert store.outbox_pending()[0].payload == {"oee": 0.5}


def test_declaration_and_outbox_in_one_transaction(store: Store) -> None:
    decl_id, seq = store.add_declaration(
        machine="m1", kind="stop_reason", ts_ns=5, body={"reason": "tooling"}, operator="ann"
    )
    assert (decl_id, seq) == (1, 1)
    record = store.outbox_pending()[0]
    assert record.kind == "declaration"
    assert record.payload == {
        "machine": "m1",
        "kind": "stop_reason",
        "operator": "ann",
        "reason": "tooling",
    }


def test_retention_keeps_unacked_outbox_and_recent_samples(store: Store) -> None:
    store.append_samples(_table(10, start_ns=0))
    store.append_samples(_table(10, start_ns=1000))
    with store.transaction() as tx:
        tx.outbox("stop", 0, {"machine": "m1"})
    deleted = store.retention(samples_before_ns=500)
    assert deleted["samples"] == 10
    assert deleted["outbox"] == 0
    assert store.outbox_stats().backlog == 1


def test_active_orders_and_dispatch(store: Store) -> None:
    store.set_active_order(machine="m1", work_order="WO-1", target=100, since_ns=7)
    store.set_active_order(machine="m1", work_order=None, target=None, since_ns=9)
    assert store.active_orders()["m1"].work_order is None
    store.save_dispatch(version=3, received_ns=1, body={"work_orders": []})
    assert store.latest_dispatch() == (3, {"work_orders": []})


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    s = Store(blocker / "edge")
    with pytest.raises(StoreUnavailable, match="cannot open"):
        s.open()
    assert not s.is_open
    blocker.unlink()
    s.open()  # recovers once the path is usable
    assert s.is_open
    s.close()


def test_record_validates_against_the_contract(store: Store) -> None:
    seq = store.record(
        "consumption", 5, {"work_order": "WO-1", "item": "steel", "lot": "L7", "qty": 2.5}
    )
    assert store.outbox_pending()[0].payload["qty"] == 2.5
    assert seq == 1
    with pytest.raises(ValueError, match="qty"):
        store.record("consumption", 6, {"work_order": "WO-1", "item": "steel", "qty": -1})
    assert store.outbox_seqs() == [1]  # nothing written for a rejected body


def test_record_if_changed_skips_an_identical_body(store: Store) -> None:
    body = {"machines": [{"id": "m1", "ideal_cycle_s": 1.0}]}
    assert store.record_if_changed("hello", 1, body, "hello") == 1
    assert store.record_if_changed("hello", 2, body, "hello") == 0
    changed = {"machines": [{"id": "m1", "ideal_cycle_s": 2.0}]}
    assert store.record_if_changed("hello", 3, changed, "hello") == 2


def test_read_series_groups_numeric_columns_by_machine_and_signal(store: Store) -> None:
    store.append_samples(_table(4, start_ns=100, machine="m2", signal="count"))
    store.append_samples(_table(3, start_ns=50, machine="m1", signal="state"))
    store.append_samples(_table(2, start_ns=10, machine="m1", signal="count"))
    store.append_samples(_table(2, start_ns=0, machine="m1", signal="count"))  # older, later
    got = read_series(store.con, "ts_ns >= ? AND machine <> ?", [1, "nobody"])
    assert {m: sorted(s) for m, s in got.items()} == {"m1": ["count", "state"], "m2": ["count"]}
    ts, values = got["m1"]["count"]
    assert (ts.dtype, values.dtype) == (np.int64, np.float64)
    assert ts.tolist() == [1, 10, 11]  # time-ordered across appends; ts 0 filtered out
    assert values.tolist() == [1.0, 0.0, 1.0]
    assert got["m1"]["state"][0].tolist() == [50, 51, 52]
    assert got["m2"]["count"][1].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert read_series(store.con, "ts_ns > ?", [10**9]) == {}
    only = read_series(store.con, "ts_ns >= ?", [0], signals=["state", "reject"])
    assert {m: list(s) for m, s in only.items()} == {"m1": ["state"]}


def test_migration_3_adopts_order_tables_an_older_edge_created_on_first_use(
    tmp_path: Path,
) -> None:
    """Before migration 3 the order-tracking and tablet tables were created on first use; a
    database from then migrates without error and keeps their rows."""
    import duckdb

    from edge.schema import MIGRATIONS

    path = tmp_path / "old"
    path.mkdir()
    con = duckdb.connect(str(path / "edge.duckdb"))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL "
        "DEFAULT now())"
    )
    for version, statements in enumerate(MIGRATIONS[:2], start=1):
        for statement in statements:
            con.execute(statement)
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
    con.execute(  # what the old code's first use created
        "CREATE TABLE tablet_orders (machine VARCHAR NOT NULL, work_order VARCHAR NOT NULL, "
        "status VARCHAR NOT NULL, since_ns BIGINT NOT NULL, PRIMARY KEY (machine, work_order))"
    )
    con.execute("INSERT INTO tablet_orders VALUES ('m1', 'WO-1', 'completed', 5)")
    con.close()
    s = Store(path)
    s.open()
    try:
        assert s.con.execute("SELECT max(version) FROM schema_version").fetchone() == (3,)
        assert s.con.execute("SELECT * FROM tablet_orders").fetchall() == [
            ("m1", "WO-1", "completed", 5)
        ]
        for table in ("order_bom", "order_changes", "downlink"):
            assert s.con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    finally:
        s.close()
