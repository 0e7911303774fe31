"""Incremental analytics on a real store: chunk by chunk equals all at once; facts + outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.contract import ProductionBody, StopBody
from connectors.base import MachineState
from edge.runtime.incremental import IncrementalAnalytics, MachineParams
from edge.store import Store
from tests.unit.edge.conftest import sample_columns

NS = 1_000_000_000
T0 = 1_767_600_000 * NS
PARAMS = MachineParams(
    id="m", ideal_cycle_s=1.0, slow_factor=2.0, stop_threshold_s=30.0, width_bits=16
)


def _append(store: Store, rows: list[tuple[int, str, float]]) -> None:
    store.append_samples(
        sample_columns(
            [T0 + t * NS for t, _, _ in rows],
            ["m"] * len(rows),
            [s for _, s, _ in rows],
            [v for _, _, v in rows],
        )
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    s.open()
    yield s
    s.close()


def test_counts_wraps_stops_and_states_across_runs(store: Store) -> None:
    analytics = IncrementalAnalytics({"m": PARAMS})
    # Run 1: running, counter near the 16-bit top.
    _append(
        store,
        [(0, "state", 1.0), (0, "count", 65530.0), (1, "count", 65532.0), (2, "count", 65534.0)],
    )
    store.set_active_order(machine="m", work_order="WO-1", target=None, since_ns=T0 - NS)
    r1 = analytics.run(store, T0 + 3 * NS)
    assert r1.live["m"].state is MachineState.running
    # Run 2: the counter wraps, a 100 s gap (a stop), a fault state, and a late duplicate.
    _append(
        store, [(3, "count", 0.0), (103, "count", 1.0), (50, "state", 4.0), (2, "count", 65534.0)]
    )
    analytics.run(store, T0 + 104 * NS)
    assert analytics.run(store, T0 + 105 * NS).samples == 0  # nothing new: no work
    counts = store.production_counts(from_ns=0, to_ns=2**62)["m"]
    assert counts.total == 2 + 2 + 2 + 1  # 65530→65534, wrap to 0 (+2), then +1
    records = store.outbox_pending()
    kinds = [r.kind for r in records]
    assert kinds.count("production") == 2 and kinds.count("stop") == 1
    for r in records:
        body = (ProductionBody if r.kind == "production" else StopBody).model_validate(r.payload)
        assert body.work_order == "WO-1"
    stop = StopBody.model_validate(next(r.payload for r in records if r.kind == "stop"))
    assert stop.start.timestamp() == pytest.approx((T0 + 3 * NS) / NS)
    states = store.events(machine="m", kind="state", from_ns=0, to_ns=2**62)
    assert [(e["state"], e["start_ns"], e["end_ns"]) for e in states] == [
        ("running", T0, T0 + 50 * NS)
    ]
    cycles = store.events(machine="m", kind="cycles", from_ns=0, to_ns=2**62)
    assert sum(e["total"] for e in cycles) == 7
    starts = [e["start_ns"] for e in cycles]
    assert len(starts) == len(set(starts))  # one row per minute, whatever the number of runs
    assert json.loads(json.dumps(cycles[0]["start_ns"])) % (60 * NS) == 0


def test_restart_from_persisted_state_counts_once(tmp_path: Path) -> None:
    for chunk in ([(0, "count", 10.0), (1, "count", 12.0)], [(2, "count", 15.0)]):
        store = Store(tmp_path)
        store.open()
        _append(store, chunk)
        IncrementalAnalytics({"m": PARAMS}).run(store, T0 + 10 * NS)
        store.close()
    store = Store(tmp_path)
    store.open()
    assert store.production_counts(from_ns=0, to_ns=2**62)["m"].total == 5
    store.close()


def _by_order(store: Store) -> dict[str | None, tuple[int, int]]:
    rows = store.con.execute(
        "SELECT work_order, sum(good), sum(reject) FROM production GROUP BY work_order"
    ).fetchall()
    return {o: (int(g), int(r)) for o, g, r in rows}


def test_parts_go_to_the_order_active_when_they_were_made(store: Store) -> None:
    """An order switch between two analytics runs splits the run at the switch instant."""
    analytics = IncrementalAnalytics({"m": PARAMS})
    store.set_active_order(machine="m", work_order="WO-A", target=None, since_ns=T0 - NS)
    _append(store, [(0, "state", 1.0), (0, "count", 0.0), (0, "reject", 0.0)])
    analytics.run(store, T0 + NS)
    # one part a second; the order switches at 5.5 s; a reject at 7 s; then a 45 s stop
    store.set_active_order(
        machine="m", work_order="WO-B", target=None, since_ns=T0 + 5 * NS + NS // 2
    )
    _append(store, [(t, "count", float(t)) for t in range(1, 11)] + [(7, "reject", 1.0)])
    _append(store, [(55, "count", 11.0)])
    analytics.run(store, T0 + 56 * NS)
    assert _by_order(store) == {"WO-A": (5, 0), "WO-B": (5, 1)}
    records = store.outbox_pending()
    made = [ProductionBody.model_validate(r.payload) for r in records if r.kind == "production"]
    assert [(p.work_order, p.good, p.scrap) for p in made] == [("WO-A", 5, 0), ("WO-B", 5, 1)]
    assert made[0].period_end <= made[1].period_start  # the periods do not overlap
    stops = [StopBody.model_validate(r.payload) for r in records if r.kind == "stop"]
    assert [(s.work_order, s.start.timestamp()) for s in stops] == [("WO-B", (T0 + 10 * NS) / NS)]
    cycles = store.events(machine="m", kind="cycles", from_ns=0, to_ns=2**62)
    per_order: dict[str | None, int] = {}
    for row in cycles:
        per_order[row["work_order"]] = per_order.get(row["work_order"], 0) + row["total"]
    assert per_order == {"WO-A": 5, "WO-B": 6}
