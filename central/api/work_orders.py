"""``/api/v1/work-orders``: create, list, read, change (If-Match), and state transitions.

``PATCH`` needs ``If-Match`` with the ETag of the revision read (428 without, 412 when stale);
transitions (``/release`` …) accept ``If-Match`` too but don't require it: they are commands
whose own precondition is the current state (409 when it doesn't allow them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import AwareDatetime

from central.api.deps import IfMatch, Reader, SessionDep, WorkOrderRow, Writer
from central.lifecycle import Action
from central.models.work_orders import WorkOrderCreate, WorkOrderRead, WorkOrderUpdate
from central.services import work_orders as svc

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders"])


def _read(response: Response, row: object) -> WorkOrderRead:
    out = WorkOrderRead.model_validate(row)
    response.headers["ETag"] = f'"{out.revision}"'
    return out


def optional_if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    return int(raw) if raw.isdigit() else -1  # unparsable: matches no revision → 412


OptionalIfMatch = Annotated[int | None, Depends(optional_if_match)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_work_order(
    _: Writer, session: SessionDep, data: WorkOrderCreate, response: Response
) -> WorkOrderRead:
    row = svc.create_work_order(session=session, data=data, now=svc.utcnow())
    response.headers["Location"] = f"{router.prefix}/{row.number}"
    return _read(response, row)


@router.get("")
def list_work_orders(
    _: Reader,
    session: SessionDep,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    machine: str | None = None,
    item: str | None = None,
    customer: str | None = None,
    due_before: AwareDatetime | None = None,
    due_after: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[WorkOrderRead]:
    where = svc.WorkOrderFilter(
        status=tuple(status_ or ()),
        machine=machine,
        item=item,
        customer=customer,
        due_before=due_before,
        due_after=due_after,
        limit=limit,
        offset=offset,
    )
    rows = svc.list_work_orders(session=session, where=where)
    return [WorkOrderRead.model_validate(r) for r in rows]


@router.get("/{number}")
def get_work_order(_: Reader, row: WorkOrderRow, response: Response) -> WorkOrderRead:
    return _read(response, row)


@router.patch("/{number}")
def update_work_order(
    _: Writer,
    row: WorkOrderRow,
    revision: IfMatch,
    data: WorkOrderUpdate,
    session: SessionDep,
    response: Response,
) -> WorkOrderRead:
    updated = svc.update_work_order(
        session=session, number=row.number, revision=revision, data=data
    )
    return _read(response, updated)


def _transition_route(action: Action) -> None:
    def run(
        _: Writer,
        row: WorkOrderRow,
        revision: OptionalIfMatch,
        session: SessionDep,
        response: Response,
    ) -> WorkOrderRead:
        updated = svc.transition_work_order(
            session=session, number=row.number, action=action, revision=revision, now=svc.utcnow()
        )
        return _read(response, updated)

    router.add_api_route(
        f"/{{number}}/{action.value}",
        run,
        methods=["POST"],
        name=f"{action.value}_work_order",
        summary=f"{action.value.capitalize()} a work order",
        response_model=WorkOrderRead,
    )


for _action in (
    Action.RELEASE,
    Action.START,
    Action.PAUSE,
    Action.RESUME,
    Action.COMPLETE,
    Action.CLOSE,
    Action.CANCEL,
):
    _transition_route(_action)
