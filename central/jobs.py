"""Periodic jobs (APScheduler in the app's lifespan): ETAs, late-order and shortage alerts
with purchase proposals, edges offline. Each job is a plain function of a sessionmaker and
``now``, so tests call it directly."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from central.db import tables as t
from central.domain.alerts import PurchaseProposal
from central.domain.calendar import WorkingCalendar
from central.domain.errors import DomainError
from central.planning import plan
from central.services.alerts import raise_alerts, resolve_missing
from central.services.versions import bump_for_machines
from central.settings import CentralSettings

log = logging.getLogger(__name__)


def _exclusive(session: Session, job: str) -> bool:
    """On PostgreSQL, only one worker process runs a job at a time (transaction-scoped
    advisory lock); SQLite deployments run one worker (its single writer serialises anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"atelier-central:{job}".encode())
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))


def refresh_etas(
    sessions: sessionmaker[Session], now: datetime, calendar: WorkingCalendar | None = None
) -> int:
    """Store the ETA of every open work order and sales order; return how many changed."""
    with sessions() as session:
        if not _exclusive(session, "eta"):
            return 0
        p = plan(session, now=now, calendar=calendar)
        old = dict(
            session.execute(
                select(t.WorkOrder.number, t.WorkOrder.eta).where(
                    t.WorkOrder.number.in_(list(p.etas))
                )
            ).all()
        )
        changed = {n: e.eta for n, e in p.etas.items() if old.get(n) != e.eta}
        conn = session.connection()  # Core executemany, not the ORM's bulk-by-primary-key
        if changed:  # edges first, then work orders: the lock order of ingest
            bump_for_machines(session, {p.orders[n].machine for n in changed})
            conn.execute(
                update(t.WorkOrder)
                .where(t.WorkOrder.number == bindparam("n"))
                .values(eta=bindparam("e"))
                .execution_options(synchronize_session=False),
                [{"n": n, "e": e} for n, e in sorted(changed.items())],
            )
        sales = [{"n": n, "e": s.eta} for n, s in sorted(p.result.sales_orders.items())]
        if sales:
            conn.execute(
                update(t.SalesOrder)
                .where(t.SalesOrder.number == bindparam("n"))
                .values(eta=bindparam("e"))
                .execution_options(synchronize_session=False),
                sales,
            )
        session.commit()
        return len(changed)


def refresh_alerts(
    sessions: sessionmaker[Session], now: datetime, calendar: WorkingCalendar | None = None
) -> None:
    """Late orders and material shortages → alerts; shortages → purchase proposals."""
    with sessions() as session:
        if not _exclusive(session, "alerts"):
            return
        p = plan(session, now=now, calendar=calendar)
        conn = session.connection()
        late = [
            (
                f"late:{a.kind}:{a.number}",
                "late_order",
                a.number,
                f"{a.kind.replace('_', ' ')} {a.number} will finish {a.eta:%Y-%m-%d %H:%M} UTC, "
                f"{a.days_late} day(s) after its {a.commitment_kind} date "
                f"{a.commitment:%Y-%m-%d %H:%M}",
            )
            for a in p.result.late
        ]
        raise_alerts(conn, now, late)
        resolve_missing(conn, now, "late_order", {k for k, *_ in late})
        short = [
            (
                f"shortage:{s.item}",
                "shortage",
                s.item,
                f"{s.item}: {s.shortage:g} short for {', '.join(s.orders_short)} "
                f"(needed by {s.needed_by:%Y-%m-%d %H:%M} UTC); propose buying {s.suggested_qty:g}",
            )
            for s in p.result.shortages
        ]
        raise_alerts(conn, now, short)
        resolve_missing(conn, now, "shortage", {k for k, *_ in short})
        _proposals(session, p.result.shortages, now)
        session.commit()


def _proposals(session: Session, shortages: tuple[PurchaseProposal, ...], now: datetime) -> None:
    """One open proposal per item, updated to the current shortage (ordered ones are kept)."""
    open_rows = {
        r.item: r
        for r in session.scalars(
            select(t.PurchaseProposal).where(t.PurchaseProposal.status == "proposed")
        )
    }
    for s in shortages:
        reason = f"short for {', '.join(s.orders_short)}"
        row = open_rows.pop(s.item, None)
        if row is None:
            session.add(
                t.PurchaseProposal(
                    item=s.item,
                    qty=s.suggested_qty,
                    need_by=s.needed_by,
                    status="proposed",
                    reason=reason,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif (row.qty, row.need_by, row.reason) != (s.suggested_qty, s.needed_by, reason):
            row.qty, row.need_by, row.reason, row.updated_at = (
                s.suggested_qty,
                s.needed_by,
                reason,
                now,
            )
    for row in open_rows.values():  # shortage gone: nothing to buy any more
        row.status, row.updated_at = "cancelled", now


def check_edges(sessions: sessionmaker[Session], now: datetime, offline_after_s: float) -> None:
    """An edge silent for ``offline_after_s`` (that has been seen once) raises an alert."""
    limit = now - timedelta(seconds=offline_after_s)
    with sessions() as session:
        if not _exclusive(session, "edges"):
            return
        edges = session.execute(
            select(t.Edge.id, t.Edge.last_seen_at).where(t.Edge.last_seen_at < limit)
        ).all()
        alerts = [
            (
                f"edge_offline:{e}",
                "edge_offline",
                e,
                f"edge {e} silent since {seen:%Y-%m-%d %H:%M:%S} UTC",
            )
            for e, seen in edges
        ]
        conn = session.connection()
        raise_alerts(conn, now, alerts)
        resolve_missing(conn, now, "edge_offline", {k for k, *_ in alerts})
        session.commit()


def start_jobs(settings: CentralSettings, sessions: sessionmaker[Session]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    calendar = settings.working_calendar()

    def eta_job() -> None:
        _run("eta", lambda: refresh_etas(sessions, datetime.now(UTC), calendar))

    def alerts_job() -> None:
        _run("alerts", lambda: refresh_alerts(sessions, datetime.now(UTC), calendar))

    def edges_job() -> None:
        _run(
            "edges",
            lambda: check_edges(sessions, datetime.now(UTC), settings.edge_offline_after_s),
        )

    opts = {"coalesce": True, "max_instances": 1, "next_run_time": datetime.now(UTC)}
    scheduler.add_job(eta_job, "interval", seconds=settings.eta_interval_s, **opts)
    scheduler.add_job(alerts_job, "interval", seconds=settings.alerts_interval_s, **opts)
    scheduler.add_job(edges_job, "interval", seconds=settings.edges_interval_s, **opts)
    scheduler.start()
    return scheduler


def _run(name: str, job: Callable[[], object]) -> None:
    try:
        job()
    except DomainError as exc:  # bad planning data: report it, keep the scheduler alive
        log.error("%s job: planning input rejected: %s", name, exc)
    except Exception:  # a job failure must not stop the next runs; logged once with trace
        log.exception("%s job failed", name)
