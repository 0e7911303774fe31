"""Batches of both shapes (sample tuples, SampleColumns) become one set of columns for the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from connectors.base import Batch, Sample, SampleColumns
from edge.runtime.ingest import to_columns
from edge.runtime.queue import Item
from edge.store import Store


def _columns() -> SampleColumns:
    return SampleColumns(
        np.array([10, 10, 20, 20], np.int64),
        ["m2", "m1"],
        np.array([0, 0, 1, 1], np.int32),
        ["count", "state"],
        np.array([0, 1, 0, 1], np.int32),
        np.array([5.0, 1.0, 6.0, 2.0]),
    )


def test_sample_columns_read_as_a_sequence_of_samples() -> None:
    c = _columns()
    want = (
        Sample(10, "m2", "count", 5.0),
        Sample(10, "m2", "state", 1.0),
        Sample(20, "m1", "count", 6.0),
        Sample(20, "m1", "state", 2.0),
    )
    assert len(c) == 4 and c == want and list(c) == list(want)
    assert (c[-1], c[1:3]) == (want[-1], want[1:3])
    with pytest.raises(IndexError):
        c[4]
    with pytest.raises(ValueError, match="different lengths"):
        SampleColumns(c.ts_ns, c.machines, c.machine_idx[:2], c.signals, c.signal_idx, c.value)


def test_mixed_batches_become_one_set_of_columns_the_store_appends(tmp_path: Path) -> None:
    items = [
        Item("mqtt", Batch(_columns())),
        Item("opcua", Batch((Sample(30, "m3", "temp", 7.5), Sample(40, "m2", "count", 8.0)))),
        Item("mqtt", Batch(_columns())),
    ]
    table = to_columns(items)
    # names are merged across parts, not repeated
    assert (table.machines, table.signals) == (("m2", "m1", "m3"), ("count", "state", "temp"))
    store = Store(tmp_path)
    store.open()
    try:
        store.append_samples(table)
        rows = store.con.execute(
            "SELECT ts_ns, machine, signal, value FROM samples ORDER BY ts_ns, machine, signal"
        ).fetchall()
    finally:
        store.close()
    want = [*_columns(), *_columns(), *items[1].batch.samples]
    assert list(table) == want
    assert rows == sorted(tuple(s) for s in want)
    assert len(to_columns([])) == 0
