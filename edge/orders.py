"""Order tracking at the edge: the active order of each machine, its end, backflush, changes.

Every function here runs on the store's writer thread (``StoreWriter.call``) and keeps each
decision and its outbox records in ONE transaction. Tables used: ``active_order`` (the order
the analytics attribute production, scrap and stops to), ``production`` (parts per order),
``dispatch`` (latest plan), the tablet's ``tablet_orders`` (order status as set on the floor),
and three of this module's own, created on first use:

- ``order_bom``: BOM lines of every work order seen in a dispatch (kept after it leaves it);
- ``order_changes``: a cancel or quantity change that central made to a RUNNING order, waiting
  for the operator's confirmation or the order's end (the floor's counts are never dropped);
- ``downlink``: the order/target each machine's PLC should show, and whether it was written.

Safe points: a new order is chosen only when the machine has none (order end), from the latest
dispatch in its rank order — so a priority change re-ranks what runs next, never what runs now.
Times are UTC nanoseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from central.contract import ConsumptionBody, DeclarationBody
from edge.store import Store, Transaction

BACKFLUSH_KV = "backflush_production_seq"
STARTABLE = ("released", "in_progress", "paused")


@dataclass(frozen=True, slots=True)
class MachinePolicy:
    """What order tracking needs of a machine's config."""

    id: str
    auto_start: bool = False
    downlink: bool = False  # the source maps `order` and/or `target`


@dataclass(frozen=True, slots=True)
class PendingChange:
    machine: str
    work_order: str
    kind: str  # "cancel" | "qty"
    target: int | None
    received_ns: int


@dataclass(frozen=True, slots=True)
class TrackResult:
    started: tuple[tuple[str, str], ...] = ()
    completed: tuple[tuple[str, str], ...] = ()
    consumption_records: int = 0


# --- pure rules --------------------------------------------------------------------------------


def next_order(
    orders: list[dict[str, Any]], machine: str, local: Mapping[str, str]
) -> dict[str, Any] | None:
    """Top of the machine's dispatch list that the floor has not finished (rank, then number)."""
    mine = [
        w
        for w in orders
        if w.get("machine") == machine
        and w.get("status") in STARTABLE
        and local.get(w["number"]) not in ("completed", "cancelled")
    ]
    # rank 1 runs next; 0 = not in central's plan: last
    mine.sort(key=lambda w: (int(w.get("rank", 0)) == 0, int(w.get("rank", 0)), str(w["number"])))
    return mine[0] if mine else None


def changes_for_running(
    orders: list[dict[str, Any]], running: Mapping[str, tuple[str, int | None]]
) -> list[tuple[str, str, str, int | None]]:
    """(machine, order, kind, target) for every running order central cancelled or resized."""
    by_number = {w["number"]: w for w in orders}
    found: list[tuple[str, str, str, int | None]] = []
    for machine, (number, target) in sorted(running.items()):
        wo = by_number.get(number)
        if wo is None or wo.get("status") == "cancelled":
            found.append((machine, number, "cancel", None))
        elif target is not None and int(wo.get("target") or wo["qty"]) != target:
            found.append((machine, number, "qty", int(wo.get("target") or wo["qty"])))
    return found


# --- store operations (writer thread) ---------------------------------------------------------


def _dispatch_orders(tx: Transaction) -> list[dict[str, Any]]:
    row = tx.con.execute("SELECT body FROM dispatch ORDER BY version DESC LIMIT 1").fetchone()
    return list(json.loads(row[0]).get("work_orders", [])) if row else []


def _running(tx: Transaction) -> dict[str, tuple[str, int | None]]:
    rows = tx.con.execute(
        "SELECT machine, work_order, target FROM active_order WHERE work_order IS NOT NULL"
    ).fetchall()
    return {str(m): (str(w), None if t is None else int(t)) for m, w, t in rows}


def apply_dispatch(store: Store, body: Mapping[str, Any], now_ns: int) -> list[PendingChange]:
    """Remember BOMs and flag changes to running orders; return the changes now pending."""
    orders = list(body.get("work_orders", []))
    with store.transaction() as tx:
        for wo in orders:
            for line in wo.get("bom", []):
                tx.con.execute(
                    "INSERT OR REPLACE INTO order_bom VALUES (?, ?, ?, ?, ?)",
                    [
                        wo["number"],
                        line["item"],
                        line["qty_per"],
                        line.get("uom"),
                        bool(line.get("backflush")),
                    ],
                )
        for machine, number, kind, target in changes_for_running(orders, _running(tx)):
            tx.con.execute(
                "INSERT INTO order_changes VALUES (?, ?, ?, ?, ?, 'pending', NULL) "
                # a later change of the same kind (qty 40→60 confirmed, then 60→80) re-opens it
                "ON CONFLICT DO UPDATE SET target = excluded.target, status = 'pending', "
                "received_ns = excluded.received_ns, resolved_ns = NULL "
                "WHERE order_changes.status = 'pending' "
                "OR order_changes.target IS DISTINCT FROM excluded.target",
                [machine, number, kind, target, now_ns],
            )
    return pending_changes(store)


def pending_changes(store: Store, machine: str | None = None) -> list[PendingChange]:
    """Changes waiting for the operator (shown on the tablet, applied on confirm or at end)."""
    sql = "SELECT machine, work_order, kind, target, received_ns FROM order_changes "
    sql += "WHERE status = 'pending'" + (" AND machine = ?" if machine else "")
    rows = store.con.execute(sql + " ORDER BY received_ns", [machine] if machine else [])
    return [
        PendingChange(str(m), str(w), str(k), None if t is None else int(t), int(r))
        for m, w, k, t, r in rows.fetchall()
    ]


def confirm_change(store: Store, *, machine: str, work_order: str, now_ns: int) -> bool:
    """The operator confirms central's change: a cancel ends the order, a qty sets the target."""
    with store.transaction() as tx:
        rows = tx.con.execute(
            "SELECT kind, target FROM order_changes WHERE machine = ? AND work_order = ? "
            "AND status = 'pending'",
            [machine, work_order],
        ).fetchall()
        if not rows:
            return False
        for kind, target in rows:
            if kind == "cancel":
                _end(tx, machine, work_order, "cancelled", now_ns, declare=False)
            else:
                tx.con.execute(
                    "UPDATE active_order SET target = ? WHERE machine = ? AND work_order = ?",
                    [target, machine, work_order],
                )
        _resolve(tx, machine, work_order, "confirmed", now_ns)
    return True


def _resolve(tx: Transaction, machine: str, work_order: str, status: str, now_ns: int) -> None:
    tx.con.execute(
        "UPDATE order_changes SET status = ?, resolved_ns = ? "
        "WHERE machine = ? AND work_order = ? AND status = 'pending'",
        [status, now_ns, machine, work_order],
    )


def _declare(tx: Transaction, machine: str, action: str, work_order: str, ts_ns: int) -> int:
    body = DeclarationBody(machine=machine, action=action, work_order=work_order)  # type: ignore[arg-type]
    return tx.outbox("declaration", ts_ns, body.model_dump(mode="json", exclude_none=True))


def start_order(
    tx: Transaction, machine: str, work_order: str, target: int | None, now_ns: int
) -> None:
    """Same rows as a start on the tablet, plus its declaration for central."""
    tx.con.execute(
        "INSERT OR REPLACE INTO tablet_orders VALUES (?, ?, 'in_progress', ?)",
        [machine, work_order, now_ns],
    )
    tx.con.execute(
        "INSERT OR REPLACE INTO active_order VALUES (?, ?, ?, ?)",
        [machine, work_order, target, now_ns],
    )
    _declare(tx, machine, "start_order", work_order, now_ns)


def _end(
    tx: Transaction, machine: str, work_order: str, status: str, now_ns: int, *, declare: bool
) -> None:
    tx.con.execute(
        "INSERT OR REPLACE INTO tablet_orders VALUES (?, ?, ?, ?)",
        [machine, work_order, status, now_ns],
    )
    tx.con.execute(
        "INSERT OR REPLACE INTO active_order VALUES (?, NULL, NULL, ?)", [machine, now_ns]
    )
    if declare:
        _declare(tx, machine, "complete_order", work_order, now_ns)


def _made(tx: Transaction, machine: str, work_order: str) -> int:
    row = tx.con.execute(
        "SELECT coalesce(sum(good), 0) FROM production WHERE machine = ? AND work_order = ?",
        [machine, work_order],
    ).fetchone()
    return int(row[0]) if row else 0


def track(store: Store, machines: list[MachinePolicy], now_ns: int) -> TrackResult:
    """One pass: end finished orders, start the next ones, backflush, queue downlink writes."""
    started: list[tuple[str, str]] = []
    completed: list[tuple[str, str]] = []
    with store.transaction() as tx:
        orders = _dispatch_orders(tx)
        running = _running(tx)
        for policy in machines:
            current = running.get(policy.id)
            if current is not None and policy.auto_start:
                number, target = current
                if target and _made(tx, policy.id, number) >= target:
                    _end(tx, policy.id, number, "completed", now_ns, declare=True)
                    _resolve(tx, policy.id, number, "applied_at_end", now_ns)
                    completed.append((policy.id, number))
                    current = None
            if current is None and policy.auto_start:
                local = dict(
                    tx.con.execute(
                        "SELECT work_order, status FROM tablet_orders WHERE machine = ?",
                        [policy.id],
                    ).fetchall()
                )
                wo = next_order(orders, policy.id, local)
                if wo is not None:
                    target = int(wo.get("target") or wo["qty"])
                    start_order(tx, policy.id, wo["number"], target, now_ns)
                    started.append((policy.id, wo["number"]))
            _close_stale_changes(tx, policy.id, now_ns)
        _queue_downlink(tx, [m for m in machines if m.downlink], now_ns)
        n = backflush(tx)
    return TrackResult(tuple(started), tuple(completed), n)


def _close_stale_changes(tx: Transaction, machine: str, now_ns: int) -> None:
    """A change whose order no longer runs (ended on the tablet) was applied at its end."""
    tx.con.execute(
        "UPDATE order_changes SET status = 'applied_at_end', resolved_ns = ? "
        "WHERE machine = ? AND status = 'pending' AND work_order NOT IN "
        "(SELECT work_order FROM active_order WHERE machine = ? AND work_order IS NOT NULL)",
        [now_ns, machine, machine],
    )


def _queue_downlink(tx: Transaction, machines: list[MachinePolicy], now_ns: int) -> None:
    for policy in machines:
        row = tx.con.execute(
            "SELECT work_order, target FROM active_order WHERE machine = ?", [policy.id]
        ).fetchone()
        order, target = (row[0], row[1]) if row else (None, None)
        held = tx.con.execute(
            "SELECT work_order, target FROM downlink WHERE machine = ?", [policy.id]
        ).fetchone()
        if held is not None and (held[0], held[1]) == (order, target):
            continue
        if held is None and order is None:
            continue  # never had an order: nothing to clear on the PLC
        tx.con.execute(
            "INSERT OR REPLACE INTO downlink VALUES (?, ?, ?, 'pending', 0, NULL, ?)",
            [policy.id, order, target, now_ns],
        )


def backflush(tx: Transaction) -> int:
    """Consumption records for the good parts of production rows not backflushed yet.

    Standard quantity = BOM ``qty_per`` x good parts, for BOM lines marked ``backflush``. A
    component whose lots the operator declares on the tablet for this order (a consumption
    record with a lot) is consumed by those declarations from then on, not backflushed too.
    """
    after = tx.get_kv(BACKFLUSH_KV)
    rows = tx.con.execute(
        "SELECT p.machine, p.work_order, sum(p.good), max(p.end_ns), max(p.outbox_seq), "
        "b.component, b.qty_per, b.uom "
        "FROM production p JOIN order_bom b ON b.work_order = p.work_order AND b.backflush "
        "WHERE p.outbox_seq > ? AND p.good > 0 AND NOT EXISTS ("
        "  SELECT 1 FROM outbox o WHERE o.kind = 'consumption' "
        "  AND o.payload->>'lot' IS NOT NULL AND o.payload->>'work_order' = p.work_order "
        "  AND o.payload->>'item' = b.component) "
        "GROUP BY p.machine, p.work_order, b.component, b.qty_per, b.uom "
        "ORDER BY p.work_order, b.component",
        [after],
    ).fetchall()
    top = tx.con.execute(
        "SELECT coalesce(max(outbox_seq), 0) FROM production WHERE outbox_seq > ?", [after]
    ).fetchone()
    for machine, order, good, end_ns, _seq, component, qty_per, uom in rows:
        body = ConsumptionBody(
            work_order=order,
            item=component,
            qty=float(good) * float(qty_per),
            uom=uom,
            machine=machine,
        )
        tx.outbox("consumption", int(end_ns), body.model_dump(mode="json", exclude_none=True))
    if top is not None and int(top[0]) > after:
        tx.set_kv(BACKFLUSH_KV, int(top[0]))
    return len(rows)


def downlink_pending(store: Store) -> list[tuple[str, str | None, int | None, int]]:
    rows = store.con.execute(
        "SELECT machine, work_order, target, attempts FROM downlink WHERE status != 'done' "
        "ORDER BY machine"
    ).fetchall()
    return [(str(m), w, None if t is None else int(t), int(a)) for m, w, t, a in rows]


def downlink_result(
    store: Store, *, machine: str, work_order: str | None, error: str | None, now_ns: int
) -> None:
    """Record a write attempt; a stale attempt (the order changed meanwhile) is ignored."""
    with store.transaction() as tx:
        tx.con.execute(
            "UPDATE downlink SET status = ?, attempts = attempts + 1, last_error = ?, "
            "updated_ns = ? WHERE machine = ? AND work_order IS NOT DISTINCT FROM ?",
            ["failed" if error else "done", error, now_ns, machine, work_order],
        )
