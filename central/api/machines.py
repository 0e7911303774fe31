"""``/api/v1/machines``: the machines, each one's dispatch list and OEE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select

from central.api.deps import Reader, RuntimeDep, SessionDep, Writer
from central.contract import DispatchWorkOrder
from central.db.tables import Machine, StopLog
from central.errors import Invalid
from central.models.catalog import MachineCreate, MachineRead
from central.planning import plan
from central.services import catalog as svc
from central.services.dispatch import machine_orders
from central.services.oee import By, OeeRead, machine_oee

router = APIRouter(prefix="/api/v1/machines", tags=["machines"])


def machine_row(
    machine_id: Annotated[str, Path(min_length=1, max_length=100)], session: SessionDep
) -> Machine:
    return svc.get_machine(session=session, machine_id=machine_id)


MachineRow = Annotated[Machine, Depends(machine_row)]


@router.get("")
def list_machines(_: Reader, session: SessionDep) -> list[MachineRead]:
    return [MachineRead.model_validate(m) for m in svc.list_machines(session=session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_machine(_: Writer, session: SessionDep, data: MachineCreate) -> MachineRead:
    return MachineRead.model_validate(svc.create_machine(session=session, data=data))


@router.get("/{machine_id}")
def get_machine(_: Reader, row: MachineRow) -> MachineRead:
    return MachineRead.model_validate(row)


@router.get("/{machine_id}/dispatch")
def machine_dispatch(
    _: Reader, row: MachineRow, session: SessionDep, runtime: RuntimeDep
) -> list[DispatchWorkOrder]:
    """Open work orders of the machine in run order (rank 1 next; orders held back for
    material or predecessors rank after the others), with ETAs on the plant calendar."""
    the_plan = plan(session, now=datetime.now(UTC), calendar=runtime.calendar)
    return machine_orders(session, [row.id], the_plan)


class StopRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    machine: str
    start: datetime
    end: datetime | None
    reason: str | None
    category: str
    work_order: str | None


@router.get("/{machine_id}/stops")
def list_stops(
    _: Reader,
    row: MachineRow,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[StopRead]:
    """The machine's latest stops, newest first."""
    query = select(StopLog).where(StopLog.machine == row.id).order_by(StopLog.start.desc())
    return [StopRead.model_validate(s) for s in session.scalars(query.limit(limit))]


@router.get("/{machine_id}/oee")
def get_machine_oee(
    _: Reader,
    row: MachineRow,
    session: SessionDep,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    by: By = "all",
) -> list[OeeRead]:
    """OEE from the edges' reports over [from, to) (default: the last 24 h), per ``by``."""
    end = to or datetime.now(UTC)
    start = from_ or end - timedelta(days=1)
    if start >= end:
        raise Invalid("'from' must be before 'to'")
    return machine_oee(session=session, machine=row, start=start, end=end, by=by)
