"""Production records on PostgreSQL: every effect of a batch in one statement.

The SQLite path (:func:`central.services.apply._book_production`) runs one statement per
table; each is a round trip, and under load a worker spent more CPU sending those small
statements (and waited longer for them) than the effects cost the server. Here the batch's
production, already merged per (work order, machine, lot) in Python, travels as arrays to one
statement whose data-modifying CTEs write the production log, the work orders' progress and
start, the produced stock moves and the lots' stock, and return each named work order's status
before the batch (``NULL``: unknown order).

Same effects as the per-table path: counts and ``started_at`` for known orders, a released
order starts (``in_progress``, revision + 1), finished stock per item and lot (default lot:
the work-order number). Work-order and stock rows are locked in key order, like the sorted
executemany they replace, so two edges' batches cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

_SQL = """
WITH a AS (
    SELECT * FROM unnest(
        %(wo)s::text[], %(machine)s::text[], %(lot)s::text[], %(good)s::bigint[],
        %(scrap)s::bigint[], %(run_s)s::float8[], %(start)s::timestamptz[],
        %(end)s::timestamptz[], %(seq)s::bigint[]
    ) AS a(wo, machine, lot, good, scrap, run_s, period_start, period_end, seq)
),
logged AS (
    INSERT INTO production_log
        (edge_id, seq, work_order, machine, good, scrap, run_s, period_start, period_end)
    SELECT %(edge)s, seq, wo, machine, good, scrap, run_s, period_start, period_end FROM a
),
locked AS (
    SELECT number, item, status FROM work_orders
    WHERE number IN (SELECT wo FROM a) ORDER BY number FOR UPDATE
),
per AS (
    SELECT a.wo, o.item, o.status, sum(a.good)::float8 AS good,
        sum(a.scrap)::float8 AS scrap, min(a.period_start) AS first
    FROM a LEFT JOIN locked o ON o.number = a.wo
    WHERE a.wo IS NOT NULL
    GROUP BY a.wo, o.item, o.status
),
progressed AS (
    UPDATE work_orders w SET
        qty_good = w.qty_good + per.good,
        qty_scrap = w.qty_scrap + per.scrap,
        started_at = CASE WHEN w.started_at IS NULL OR w.started_at > per.first
            THEN per.first ELSE w.started_at END,
        status = CASE WHEN w.status = 'released' THEN 'in_progress' ELSE w.status END,
        revision = CASE WHEN w.status = 'released' THEN w.revision + 1 ELSE w.revision END
    FROM per WHERE w.number = per.wo
),
made AS (
    SELECT per.item, coalesce(nullif(a.lot, ''), a.wo) AS lot, a.good, a.wo, a.seq,
        a.period_end
    FROM a JOIN per ON per.wo = a.wo
    WHERE per.item IS NOT NULL AND a.good > 0
),
moved AS (
    INSERT INTO stock_moves (item, lot, qty, kind, work_order, edge_id, seq, ts)
    SELECT item, lot, good, 'produce', wo, %(edge)s, seq, period_end FROM made
),
stocked AS (
    INSERT INTO stock (item, lot, qty, updated_at)
    SELECT item, lot, sum(good), %(now)s FROM made GROUP BY item, lot ORDER BY item, lot
    ON CONFLICT (item, lot) DO UPDATE
    SET qty = stock.qty + excluded.qty, updated_at = excluded.updated_at
)
SELECT wo, status FROM per
"""

# (work order, machine, lot) -> [good, scrap, run_s, period_start, period_end, last seq]
Merged = dict[tuple[str | None, str, str | None], list[Any]]


def book_production(
    conn: Connection, edge_id: str, agg: Merged, now: datetime
) -> Sequence[tuple[str, str | None]]:
    """Apply merged production; return (work order, status before the batch or ``None``
    when unknown) for every work order named."""
    keys = list(agg)
    rows = list(agg.values())
    params = {
        "edge": edge_id,
        "now": now,
        "wo": [k[0] for k in keys],
        "machine": [k[1] for k in keys],
        "lot": [k[2] for k in keys],
        "good": [r[0] for r in rows],
        "scrap": [r[1] for r in rows],
        "run_s": [float(r[2]) for r in rows],
        "start": [r[3] for r in rows],
        "end": [r[4] for r in rows],
        "seq": [r[5] for r in rows],
    }
    # The driver's cursor, in the session's transaction: binary array parameters, no
    # SQLAlchemy compile step for a statement it could not express as one anyway.
    with conn.connection.driver_connection.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(_SQL, params, binary=True)
        return [(str(wo), status) for wo, status in cur.fetchall()]
