"""The wire contract: both parsers agree, bodies follow the kind, bad input names the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from central.contract import (
    MAX_BATCH_RECORDS,
    ProductionBody,
    ProductionRecord,
    Record,
    RecordBatch,
    StopBody,
    TypedRecordBatch,
)

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _records() -> list[Record]:
    return [
        Record(seq=1, kind="hello", ts=NOW, body={"machines": [{"id": "press-01"}]}),
        Record(
            seq=2,
            kind="production",
            ts=NOW,
            body=ProductionBody(
                work_order="WO-1",
                machine="press-01",
                good=5,
                scrap=1,
                period_start=NOW,
                period_end=NOW,
            ),
        ),
        Record(seq=3, kind="stop", ts=NOW, body=StopBody(machine="press-01", start=NOW)),
        Record(seq=4, kind="quality", ts=NOW, body={"characteristic": "d", "value": 1.5}),
        Record(
            seq=5,
            kind="oee",
            ts=NOW,
            body={
                "machine": "m",
                "window_start": NOW,
                "window_end": NOW,
                "planned_s": 1,
                "run_s": 1,
                "total": 1,
                "good": 1,
            },
        ),
        Record(seq=6, kind="consumption", ts=NOW, body={"work_order": "W", "item": "I", "qty": 2}),
        Record(seq=7, kind="declaration", ts=NOW, body={"machine": "m", "action": "note"}),
    ]


def test_generic_and_typed_batches_parse_the_same_json() -> None:
    wire = RecordBatch(records=_records()).model_dump_json()
    typed = TypedRecordBatch.model_validate_json(wire)
    generic = RecordBatch.model_validate_json(wire)
    assert [r.kind for r in typed.records] == [r.kind for r in generic.records]
    assert isinstance(typed.records[1], ProductionRecord)
    assert typed.records[1].body == generic.records[1].body
    assert typed.model_dump() == generic.model_dump()


def test_body_must_match_kind() -> None:
    with pytest.raises(ValidationError, match="kind 'production' needs ProductionBody"):
        Record(seq=1, kind="production", ts=NOW, body=StopBody(machine="m", start=NOW))


def test_bad_body_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        TypedRecordBatch.model_validate_json(
            '{"records":[{"seq":1,"kind":"production","ts":"2026-01-01T00:00:00Z",'
            '"body":{"machine":"m","good":-1,"period_start":"2026-01-01T00:00:00Z",'
            '"period_end":"2026-01-01T00:00:00Z"}}]}'
        )
    assert info.value.errors()[0]["loc"] == ("records", 0, "production", "body", "good")


def test_seq_starts_at_one_and_timestamps_are_aware() -> None:
    with pytest.raises(ValidationError, match="seq"):
        Record(seq=0, kind="note", ts=NOW, body={})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="ts"):
        Record(seq=1, kind="hello", ts=datetime(2026, 1, 1), body={})


def test_batch_size_is_bounded() -> None:
    rec = _records()[0]
    with pytest.raises(ValidationError, match="records"):
        RecordBatch(records=[rec] * (MAX_BATCH_RECORDS + 1))
    with pytest.raises(ValidationError, match="records"):
        RecordBatch(records=[])
