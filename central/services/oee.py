"""OEE of a machine over a period, aggregated from the edges' window reports.

Per bucket (hour, day, shift, or the whole period): planned, run and stop seconds and the
counts are summed, then A = run / planned, P = ideal_cycle × total / run, Q = good / total,
OEE = A × P × Q (ISO 22400; ratios are None where their denominator is 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.tables import Machine, OeeReport

By = Literal["hour", "day", "shift", "all"]


# One bucket's OEE, and also the API's response model: FastAPI serialises the dataclass, so
# the OpenAPI schema is this class (no docstring: it would become the schema's description).
@dataclass(frozen=True, slots=True)
class OeeRead:
    machine: str
    window_start: datetime
    window_end: datetime
    shift: str | None
    planned_s: float
    run_s: float
    stop_s: float
    total: int
    good: int
    reject: int
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


def _key(r: OeeReport, by: By) -> tuple[str, str | None]:
    if by == "hour":
        return r.window_start.strftime("%Y-%m-%dT%H"), None
    if by == "day":
        return r.window_start.strftime("%Y-%m-%d"), None
    if by == "shift":
        return r.window_start.strftime("%Y-%m-%d"), r.shift
    return "all", None


def machine_oee(
    *, session: Session, machine: Machine, start: datetime, end: datetime, by: By
) -> list[OeeRead]:
    rows = session.scalars(
        select(OeeReport)
        .where(
            OeeReport.machine == machine.id,
            OeeReport.window_end > start,
            OeeReport.window_start < end,
        )
        .order_by(OeeReport.window_start)
    ).all()
    groups: dict[tuple[str, str | None], list[OeeReport]] = {}
    for r in rows:
        groups.setdefault(_key(r, by), []).append(r)
    return [_bucket(machine, g) for g in groups.values()]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _bucket(machine: Machine, rows: Sequence[OeeReport]) -> OeeRead:
    planned = sum(r.planned_s for r in rows)
    run = sum(r.run_s for r in rows)
    total = sum(r.total for r in rows)
    good = sum(r.good for r in rows)
    a = _ratio(run, planned)
    p = _ratio((machine.ideal_cycle_s or 0.0) * total, run) if machine.ideal_cycle_s else None
    if p is None and run > 0:  # no ideal cycle known centrally: run-weighted edge figure
        perfs = [(r.performance, r.run_s) for r in rows if r.performance is not None]
        p = _ratio(sum(v * w for v, w in perfs), sum(w for _, w in perfs))
    q = _ratio(good, total)
    return OeeRead(
        machine=machine.id,
        window_start=min(r.window_start for r in rows),
        window_end=max(r.window_end for r in rows),
        shift=rows[0].shift if len({r.shift for r in rows}) == 1 else None,
        planned_s=planned,
        run_s=run,
        stop_s=sum(r.stop_s for r in rows),
        total=total,
        good=good,
        reject=sum(r.reject for r in rows),
        availability=a,
        performance=p,
        quality=q,
        oee=a * p * q if a is not None and p is not None and q is not None else None,
    )
