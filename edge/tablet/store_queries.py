"""SQL of the tablet over the edge store; every function runs on the store's writer thread.

Uses the store's public API (``Store.con``, ``Store.transaction``, ``Transaction.outbox``) and
its tables: ``dispatch`` (latest plan from central), ``active_order``, ``events`` (stops and
state intervals written by the analytics), ``production``, ``declarations`` and
``tablet_orders`` (an order's status as the operators set it; schema migration 3). Times are UTC
nanoseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge import orders as order_logic
from edge.store import Store
from edge.tablet.plans import Plan


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the tablet reads of one machine in one round trip to the writer thread."""

    dispatch: dict[str, Any] | None  # latest Dispatch body (JSON), None before the first
    dispatch_received_ns: int
    local_status: dict[str, tuple[str, int]]  # work order -> (status, since_ns)
    made: dict[str, tuple[int, int]]  # work order -> (good, scrap) counted on this edge


def snapshot(store: Store, machine: str) -> Snapshot:
    con = store.con
    row = con.execute(
        "SELECT received_ns, body FROM dispatch ORDER BY version DESC LIMIT 1"
    ).fetchone()
    local = con.execute(
        "SELECT work_order, status, since_ns FROM tablet_orders WHERE machine = ?", [machine]
    ).fetchall()
    made = con.execute(
        "SELECT work_order, sum(good), sum(reject) FROM production "
        "WHERE machine = ? AND work_order IS NOT NULL GROUP BY work_order",
        [machine],
    ).fetchall()
    scrap = con.execute(
        "SELECT body->>'work_order', sum(CAST(body->'summary'->>'scrap' AS BIGINT)) "
        "FROM declarations "
        "WHERE machine = ? AND kind = 'counts' GROUP BY 1",
        [machine],
    ).fetchall()
    counts = {str(w): (int(g), int(r)) for w, g, r in made}
    for order, n in scrap:
        if order is not None and n:
            good, rej = counts.get(str(order), (0, 0))
            counts[str(order)] = (good, rej + int(n))
    return Snapshot(
        dispatch=json.loads(row[1]) if row else None,
        dispatch_received_ns=int(row[0]) if row else 0,
        local_status={str(w): (str(s), int(t)) for w, s, t in local},
        made=counts,
    )


def last_stop_ends(store: Store) -> dict[str, int]:
    rows = store.con.execute(
        "SELECT machine, max(end_ns) FROM events WHERE kind = 'stop' GROUP BY machine"
    ).fetchall()
    return {str(m): int(e) for m, e in rows if e is not None}


def pending_stops(store: Store, machine: str, since_ns: int) -> list[tuple[int, int | None]]:
    """Unplanned stops without a reason (setup, fault and planned stops need none)."""
    rows = store.con.execute(
        "SELECT start_ns, end_ns FROM events WHERE machine = ? AND kind = 'stop' "
        "AND reason IS NULL AND start_ns >= ? "
        "AND coalesce(detail->>'category', 'unplanned') = 'unplanned' "
        "ORDER BY start_ns DESC LIMIT 20",
        [machine, since_ns],
    ).fetchall()
    return [(int(s), None if e is None else int(e)) for s, e in rows]


def state_segments(store: Store, machine: str, start_ns: int, end_ns: int) -> list[tuple[Any, ...]]:
    return store.con.execute(
        "SELECT start_ns, end_ns, state FROM events WHERE machine = ? AND kind = 'state' "
        "AND end_ns > ? AND start_ns < ? ORDER BY start_ns",
        [machine, start_ns, end_ns],
    ).fetchall()


def first_seen(store: Store, machine: str, start_ns: int, end_ns: int) -> int | None:
    """When the edge first saw the machine in ``[start_ns, end_ns)``: the earliest state
    interval or production fact there (None: nothing stored yet)."""
    row = store.con.execute(
        "SELECT min(t) FROM ("
        " SELECT min(greatest(start_ns, ?)) AS t FROM events"
        " WHERE machine = ? AND kind = 'state' AND end_ns > ? AND start_ns < ?"
        " UNION ALL SELECT min(end_ns) FROM production"
        " WHERE machine = ? AND end_ns > ? AND end_ns <= ?)",
        [start_ns, machine, start_ns, end_ns, machine, start_ns, end_ns],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def good_per_bucket(
    store: Store, machine: str, start_ns: int, end_ns: int, step_ns: int
) -> list[tuple[int, int]]:
    """Good parts made in ``(start_ns, end_ns]`` per bucket of ``step_ns`` counted from
    ``start_ns``: ``(bucket index, good)`` in order, empty buckets left out."""
    rows = store.con.execute(
        "SELECT (end_ns - ? - 1) // ? AS bucket, sum(good) FROM production "
        "WHERE machine = ? AND end_ns > ? AND end_ns <= ? GROUP BY bucket ORDER BY bucket",
        [start_ns, step_ns, machine, start_ns, end_ns],
    ).fetchall()
    return [(int(b), int(g)) for b, g in rows]


def quality_results(store: Store, machine: str, limit: int = 8) -> list[tuple[Any, ...]]:
    return store.con.execute(
        "SELECT ts_ns, operator, body FROM declarations WHERE machine = ? AND kind = 'quality' "
        "ORDER BY ts_ns DESC, id DESC LIMIT ?",
        [machine, limit],
    ).fetchall()


def find_action(store: Store, key: str) -> tuple[str, int, int, dict[str, Any]] | None:
    """A stored action by idempotency key: (kind, seq, ts_ns, summary)."""
    row = store.con.execute(
        "SELECT kind, outbox_seq, ts_ns, body FROM declarations WHERE body->>'key' = ? "
        "ORDER BY outbox_seq DESC LIMIT 1",
        [key],
    ).fetchone()
    if row is None:
        return None
    body = json.loads(row[3])
    return str(row[0]), int(row[1]), int(row[2]), dict(body.get("summary", {}))


def store_action(
    store: Store,
    *,
    machine: str,
    operator: str,
    key: str,
    plan: Plan,
    ts_ns: int,
    extra: Mapping[str, Any] | None = None,
    order_change: tuple[str, str, int | None] | None = None,
    stop_start_ns: int | None = None,
) -> int:
    """Outbox records, the declaration row and the state change in ONE transaction; last seq.

    ``order_change``: (work order, new status, target) — also sets the machine's active order.
    ``stop_start_ns``: the stop whose reason is set (nothing stored if it has one already).
    """
    with store.transaction() as tx:
        con = tx.con
        if stop_start_ns is not None:
            updated = con.execute(
                "UPDATE events SET reason = ? WHERE machine = ? AND kind = 'stop' "
                "AND start_ns = ? AND reason IS NULL RETURNING start_ns",
                [plan.summary["reason"], machine, stop_start_ns],
            ).fetchall()
            if not updated:
                raise LookupError(stop_start_ns)
        seq = 0
        for kind, body in plan.records:
            seq = tx.outbox(kind, ts_ns, body)
        row = con.execute("SELECT coalesce(max(id), 0) + 1 FROM declarations").fetchone()
        assert row is not None
        body = {"key": key, "summary": plan.summary, **(extra or {})}
        con.execute(
            "INSERT INTO declarations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [int(row[0]), ts_ns, machine, plan.kind, operator, json.dumps(body, default=str), seq],
        )
        if plan.kind == "counts" and plan.summary.get("good"):
            # parts counted by hand count like machine parts for the order's progress
            con.execute(
                "INSERT INTO production VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                [
                    machine,
                    extra.get("work_order") if extra else None,
                    ts_ns,
                    ts_ns,
                    plan.summary["good"],
                    plan.summary["good"],
                    seq,
                ],
            )
        if order_change is not None:
            _change_order(con, machine, order_change, ts_ns)
    return seq


def _change_order(con: Any, machine: str, change: tuple[str, str, int | None], ts_ns: int) -> None:
    order, status, target = change
    con.execute(
        "INSERT OR REPLACE INTO tablet_orders VALUES (?, ?, ?, ?)", [machine, order, status, ts_ns]
    )
    running = status == "in_progress"
    con.execute(
        "INSERT OR REPLACE INTO active_order VALUES (?, ?, ?, ?)",
        [machine, order if running else None, target if running else None, ts_ns],
    )


def confirm_and_store(
    store: Store, *, machine: str, operator: str, key: str, plan: Plan, ts_ns: int
) -> int:
    """Apply central's change through the edge's order logic, then record who confirmed it.

    Two transactions (the order logic owns its own), run back to back on the writer thread.
    """
    order = str(plan.summary["work_order"])
    if not order_logic.confirm_change(store, machine=machine, work_order=order, now_ns=ts_ns):
        raise LookupError(order)
    return store_action(
        store,
        machine=machine,
        operator=operator,
        key=key,
        plan=plan,
        ts_ns=ts_ns,
        extra={"work_order": order},
    )
