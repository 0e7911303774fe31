"""Effects of newly stored records, by kind, as set-based SQL (one executemany per table).

Each applier receives only records never applied before (see :mod:`central.services.ingest`),
sorted by seq. Keys that an upsert touches are merged in Python first: PostgreSQL refuses an
``ON CONFLICT DO UPDATE`` that hits the same row twice in one statement, and sorted keys give
every transaction the same lock order (no deadlock between two edges' batches).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter, sub
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, or_, select, update

from central.contract import (
    ConsumptionRecord,
    HelloRecord,
    OeeRecord,
    ProductionRecord,
    StopRecord,
    TypedRecord,
)
from central.db.tables import (
    Edge,
    Machine,
    OeeReport,
    ProductionLog,
    Stock,
    StockMove,
    StopLog,
    UTCDateTime,
    WorkOrder,
)
from central.services import apply_production_pg, apply_quality
from central.services.alerts import raise_alerts
from central.services.declarations import apply_declarations
from central.services.sql import dialect_insert, insert_rows


@dataclass
class Context:
    conn: Connection
    edge_id: str
    now: datetime
    dispatch_changed: bool = False


def apply_records(ctx: Context, records: Sequence[TypedRecord]) -> None:
    groups: dict[str, list[Any]] = defaultdict(list)
    for record in records:
        groups[record.kind].append(record)
    # hello first: later records of the same batch may name the machines it announces
    if groups["hello"]:
        _hello(ctx, groups["hello"])
    if groups["production"]:
        _production(ctx, groups["production"])
    if groups["consumption"]:
        _consumption(ctx, groups["consumption"])
    if groups["quality"]:
        apply_quality.apply_quality(ctx.conn, ctx.edge_id, groups["quality"], ctx.now)
    if groups["stop"]:
        _stops(ctx, groups["stop"])
    if groups["oee"]:
        _oee(ctx, groups["oee"])
    if groups["declaration"] and apply_declarations(
        ctx.conn, ctx.edge_id, groups["declaration"], ctx.now
    ):
        ctx.dispatch_changed = True


def _hello(ctx: Context, records: list[HelloRecord]) -> None:
    last = records[-1]
    ctx.conn.execute(
        update(Edge)
        .where(Edge.id == ctx.edge_id)
        .values(software_version=last.body.software_version, timezone=last.body.timezone)
    )
    machines = {m.id: m for r in records for m in r.body.machines}
    if machines:
        stmt = dialect_insert(ctx.conn, Machine)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "edge_id": stmt.excluded.edge_id,
                "protocol": stmt.excluded.protocol,
                "ideal_cycle_s": func.coalesce(stmt.excluded.ideal_cycle_s, Machine.ideal_cycle_s),
                "name": func.coalesce(stmt.excluded.name, Machine.name),
                "announced_at": stmt.excluded.announced_at,
            },
        )
        rows = [
            {
                "id": m.id,
                "edge_id": ctx.edge_id,
                "name": m.name,
                "line": None,
                "protocol": m.protocol,
                "ideal_cycle_s": m.ideal_cycle_s,
                "announced_at": ctx.now,
            }
            for m in sorted(machines.values(), key=lambda m: m.id)
        ]
        insert_rows(ctx.conn, stmt, rows)
    ctx.dispatch_changed = True


def _orders(conn: Connection, numbers: Iterable[str | None]) -> dict[str, Any]:
    wanted = sorted({n for n in numbers if n is not None})
    if not wanted:
        return {}
    query = select(WorkOrder.number, WorkOrder.item, WorkOrder.status, WorkOrder.customer)
    return {row.number: row for row in conn.execute(query.where(WorkOrder.number.in_(wanted)))}


_KEY = attrgetter("body.work_order", "body.machine", "body.lot")
_BODY = attrgetter("body")
_GOOD, _SCRAP = attrgetter("good"), attrgetter("scrap")
_START, _END = attrgetter("period_start"), attrgetter("period_end")


def merge_production(records: list[ProductionRecord]) -> apply_production_pg.Merged:
    """Production per (work order, machine, lot), in order of first appearance: good, scrap,
    run seconds (negative periods count 0), first start, last end, last seq. Summed with
    ``map`` over attribute getters: a Python loop per record was a quarter of the ingest's
    own CPU on 500-record batches."""
    keys = list(map(_KEY, records))
    groups: dict[tuple[str | None, str, str | None], list[ProductionRecord]]
    if keys.count(keys[0]) == len(keys):  # the usual batch: one machine, one order
        groups = {keys[0]: records}
    else:
        groups = defaultdict(list)
        for key, record in zip(keys, records, strict=True):
            groups[key].append(record)
    agg: apply_production_pg.Merged = {}
    for key, group in groups.items():
        bodies = list(map(_BODY, group))
        starts, ends = list(map(_START, bodies)), list(map(_END, bodies))
        spans = list(map(timedelta.total_seconds, map(sub, ends, starts)))
        run_s = sum(spans) if min(spans) >= 0 else sum(s for s in spans if s > 0)
        good, scrap = sum(map(_GOOD, bodies)), sum(map(_SCRAP, bodies))
        agg[key] = [good, scrap, float(run_s), min(starts), max(ends), group[-1].seq]
    return agg


def _production(ctx: Context, records: list[ProductionRecord]) -> None:
    agg = merge_production(records)
    if ctx.conn.dialect.name == "postgresql":
        named = apply_production_pg.book_production(ctx.conn, ctx.edge_id, agg, ctx.now)
        if any(status == "released" for _wo, status in named):
            ctx.dispatch_changed = True
        _unknown_orders(ctx, [wo for wo, status in named if status is None])
        return
    orders = _orders(ctx.conn, (wo for wo, _m, _l in agg))
    ctx.conn.execute(
        dialect_insert(ctx.conn, ProductionLog),
        [
            {
                "edge_id": ctx.edge_id,
                "seq": a[5],
                "work_order": wo,
                "machine": machine,
                "good": a[0],
                "scrap": a[1],
                "run_s": a[2],
                "period_start": a[3],
                "period_end": a[4],
            }
            for (wo, machine, _lot), a in agg.items()
        ],
    )
    _book_production(ctx, orders, agg)
    _unknown_orders(ctx, [wo for (wo, _m, _l) in agg if wo is not None and wo not in orders])


def _unknown_orders(ctx: Context, numbers: Iterable[str]) -> None:
    raise_alerts(
        ctx.conn,
        ctx.now,
        [
            (
                f"unknown_work_order:{wo}",
                "unknown_work_order",
                wo,
                f"edge {ctx.edge_id} reported production for unknown work order {wo}",
            )
            for wo in sorted(set(numbers))
        ],
    )


def _book_production(ctx: Context, orders: dict[str, Any], agg: dict[Any, list[Any]]) -> None:
    per_order: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    first: dict[str, datetime] = {}
    stock: dict[tuple[str, str], float] = defaultdict(float)
    moves = []
    for (wo, _machine, lot), a in agg.items():
        if wo not in orders:
            continue
        per_order[wo][0] += a[0]
        per_order[wo][1] += a[1]
        first[wo] = min(first.get(wo, a[3]), a[3])
        if a[0] > 0:
            item, lot_id = orders[wo].item, lot or wo
            stock[(item, lot_id)] += a[0]
            moves.append(_move(ctx, item, lot_id, a[0], "produce", wo, a[5], a[4]))
    if not per_order:
        return
    numbers = sorted(per_order)
    t = bindparam("t", type_=UTCDateTime())
    earlier = or_(WorkOrder.started_at.is_(None), WorkOrder.started_at > t)
    ctx.conn.execute(
        update(WorkOrder)
        .where(WorkOrder.number == bindparam("n"))
        .values(
            qty_good=WorkOrder.qty_good + bindparam("g"),
            qty_scrap=WorkOrder.qty_scrap + bindparam("s"),
            # started_at = the earliest production period, whatever order records arrive in
            started_at=case((earlier, t), else_=WorkOrder.started_at),
        )
        .execution_options(synchronize_session=False),
        [{"n": n, "g": per_order[n][0], "s": per_order[n][1], "t": first[n]} for n in numbers],
    )
    starting = [n for n in numbers if orders[n].status == "released"]
    if starting:  # the first count starts a released order
        ctx.conn.execute(
            update(WorkOrder)
            .where(WorkOrder.number.in_(starting), WorkOrder.status == "released")
            .values(status="in_progress", revision=WorkOrder.revision + 1)
            .execution_options(synchronize_session=False)
        )
        ctx.dispatch_changed = True
    if moves:
        insert_rows(ctx.conn, dialect_insert(ctx.conn, StockMove), moves)
        upsert_stock(ctx.conn, stock, ctx.now)


def _move(
    ctx: Context, item: str, lot: str, qty: float, kind: str, wo: str | None, seq: int, ts: datetime
) -> dict[str, Any]:
    return {
        "item": item,
        "lot": lot,
        "qty": qty,
        "kind": kind,
        "work_order": wo,
        "edge_id": ctx.edge_id,
        "seq": seq,
        "ts": ts,
    }


def upsert_stock(conn: Connection, deltas: dict[tuple[str, str], float], now: datetime) -> None:
    stmt = dialect_insert(conn, Stock)
    stmt = stmt.on_conflict_do_update(
        index_elements=["item", "lot"],
        set_={"qty": Stock.qty + stmt.excluded.qty, "updated_at": stmt.excluded.updated_at},
    )
    rows = [
        {"item": item, "lot": lot, "qty": qty, "updated_at": now}
        for (item, lot), qty in sorted(deltas.items())
    ]
    insert_rows(conn, stmt, rows)


def _consumption(ctx: Context, records: list[ConsumptionRecord]) -> None:
    stock: dict[tuple[str, str], float] = defaultdict(float)
    moves = []
    for r in records:
        b = r.body
        lot = b.lot or ""
        stock[(b.item, lot)] -= b.qty
        moves.append(_move(ctx, b.item, lot, -b.qty, "consume", b.work_order, r.seq, r.ts))
    insert_rows(ctx.conn, dialect_insert(ctx.conn, StockMove), moves)
    upsert_stock(ctx.conn, stock, ctx.now)


def _stops(ctx: Context, records: list[StopRecord]) -> None:
    merged: dict[tuple[str, datetime], dict[str, Any]] = {}
    for r in records:  # in seq order: a later record fills in end and reason
        b = r.body
        row = merged.setdefault(
            (b.machine, b.start),
            {"machine": b.machine, "start": b.start, "end": None, "reason": None},
        )
        row.update(
            end=b.end or row["end"],
            reason=b.reason or row["reason"],
            category=b.category,
            work_order=b.work_order,
            edge_id=ctx.edge_id,
            seq=r.seq,
        )
    stmt = dialect_insert(ctx.conn, StopLog)
    stmt = stmt.on_conflict_do_update(
        index_elements=["machine", "start"],
        set_={
            "end": func.coalesce(stmt.excluded.end, StopLog.end),
            "reason": func.coalesce(stmt.excluded.reason, StopLog.reason),
            "category": stmt.excluded.category,
            "seq": stmt.excluded.seq,
        },
    )
    insert_rows(ctx.conn, stmt, [merged[k] for k in sorted(merged)])


def _oee(ctx: Context, records: list[OeeRecord]) -> None:
    latest: dict[tuple[str, datetime, datetime], dict[str, Any]] = {}
    for r in records:
        b = r.body
        row = b.model_dump()
        row.update(edge_id=ctx.edge_id, seq=r.seq)
        latest[(b.machine, b.window_start, b.window_end)] = row
    stmt = dialect_insert(ctx.conn, OeeReport)
    keep = {"machine", "window_start", "window_end"}
    columns = set(next(iter(latest.values()))) - keep
    stmt = stmt.on_conflict_do_update(
        index_elements=sorted(keep),
        set_={c: stmt.excluded[c] for c in sorted(columns)},
        where=OeeReport.seq < stmt.excluded.seq,  # a replayed older report never wins
    )
    insert_rows(ctx.conn, stmt, [latest[k] for k in sorted(latest)])
