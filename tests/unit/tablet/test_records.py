"""Every record an operator action stores is accepted by the sync contract as is."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from central.contract import Record, RecordBatch, TypedRecordBatch
from edge.tablet import plans
from edge.tablet.errors import InvalidAction, InvalidInput
from edge.tablet.models import (
    DispatchEntry,
    OrderAction,
    OrderStatus,
    PendingStop,
    QualitySpec,
    Reason,
)
from tests.unit.tablet.plant import SCRAP_REASONS, STOP_REASONS

AT = datetime(2026, 11, 27, 9, tzinfo=UTC)
RUNNING = [
    DispatchEntry(
        "WO-1", "ITEM", 100, OrderStatus.in_progress, 10, 1, "ACME", "A", date(2026, 12, 1)
    )
]


def _wire(plan: plans.Plan) -> list[Record]:
    recs = [Record(seq=i + 1, kind=k, ts=AT, body=b) for i, (k, b) in enumerate(plan.records)]
    wire = RecordBatch(records=recs).model_dump_json()
    TypedRecordBatch.model_validate_json(wire)  # how central parses a batch
    return recs


def _declaration(recs: list[Record]) -> dict[str, object]:
    decls = [r for r in recs if r.kind == "declaration"]
    assert decls, "every action leaves a declaration"
    body = decls[0].body.model_dump()
    assert body["operator"] == "op-7"
    return body


def test_order_actions() -> None:
    plan = plans.order(
        machine="m1",
        dispatch=[DispatchEntry("WO-2", "X", 5, OrderStatus.released)],
        number="WO-2",
        action=OrderAction.start,
        operator="op-7",
    )
    assert _declaration(_wire(plan))["action"] == "start_order"
    assert plan.new_status is OrderStatus.in_progress
    with pytest.raises(InvalidAction):
        plans.order(
            machine="m1", dispatch=RUNNING, number="WO-1", action=OrderAction.start, operator="op-7"
        )


def test_scrap_and_good_counts() -> None:
    plan = plans.counts(
        machine="m1",
        dispatch=RUNNING,
        good=5,
        scrap=3,
        scrap_reason="burr",
        reasons=SCRAP_REASONS,
        operator="op-7",
        at=AT,
    )
    recs = _wire(plan)
    scrap = _declaration(recs)
    assert (scrap["action"], scrap["qty"], scrap["reason"], scrap["work_order"]) == (
        "scrap",
        3,
        "burr",
        "WO-1",
    )
    prod = [r.body.model_dump() for r in recs if r.kind == "production"]
    assert prod[0]["good"] == 5 and prod[0]["scrap"] == 0
    with pytest.raises(InvalidInput) as err:
        plans.counts(
            machine="m1",
            dispatch=RUNNING,
            good=0,
            scrap=3,
            scrap_reason="nope",
            reasons=SCRAP_REASONS,
            operator="op-7",
            at=AT,
        )
    assert err.value.field == "scrap_reason"


def test_stop_reason_consumption_quality() -> None:
    stop = PendingStop("s1", "m1", AT, AT.replace(hour=10))
    recs = _wire(
        plans.stop(
            stop=stop, reason="mech.jam", reasons=STOP_REASONS, dispatch=RUNNING, operator="op-7"
        )
    )
    assert _declaration(recs)["reason"] == "mech.jam"
    assert [r.body.model_dump()["reason"] for r in recs if r.kind == "stop"] == ["mech.jam"]
    planned_tree = (
        Reason("plan", {"en": "Planned"}, (Reason("clean", {"en": "Cleaning"}, planned=True),)),
    )
    recs = _wire(
        plans.stop(
            stop=stop, reason="clean", reasons=planned_tree, dispatch=RUNNING, operator="op-7"
        )
    )
    assert [r.body.model_dump()["category"] for r in recs if r.kind == "stop"] == ["planned"]
    with pytest.raises(InvalidInput):  # a category is not a reason: leaves only
        plans.stop(
            stop=stop, reason="mech", reasons=STOP_REASONS, dispatch=RUNNING, operator="op-7"
        )

    recs = _wire(
        plans.consume(
            machine="m1",
            dispatch=RUNNING,
            item="STEEL",
            lot="L-42",
            qty=2.5,
            uom="kg",
            operator="op-7",
        )
    )
    _declaration(recs)
    cons = next(r.body.model_dump() for r in recs if r.kind == "consumption")
    assert (cons["work_order"], cons["lot"], cons["qty"]) == ("WO-1", "L-42", 2.5)
    with pytest.raises(InvalidAction):
        plans.consume(
            machine="m1", dispatch=[], item="STEEL", lot="L", qty=1, uom="kg", operator="op-7"
        )

    spec = QualitySpec("diameter", 9.95, 10.05, "mm")
    plan, _ = plans.quality(
        machine="m1",
        dispatch=RUNNING,
        specs=[spec],
        characteristic="diameter",
        value=10.2,
        operator="op-7",
    )
    recs = _wire(plan)
    _declaration(recs)
    assert [r.body.model_dump()["verdict"] for r in recs if r.kind == "quality"] == ["nok"]
    assert plan.summary["verdict"] == "fail"
