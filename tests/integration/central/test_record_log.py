"""The record log keeps each record once (the first copy of a seq), with the seq, ts and body
the edge sent (the request body itself, byte for byte), on both backends; a NUL character,
which no text column can store, is refused with a 422 naming the record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from central.db.tables import RecordBatch
from central.services.ingest import logged_records
from tests.integration.central.conftest import EDGE
from tests.integration.central.plant import seed, work_order

pytestmark = pytest.mark.integration
AWARE = TypeAdapter(AwareDatetime)
URL = f"/api/v1/edges/{EDGE}/records"


def stop(seq: int, ts: object, reason: str = "jam") -> dict[str, object]:
    body = {"machine": "press-01", "start": "2026-01-05T08:00:00+01:00", "reason": reason}
    return {"seq": seq, "kind": "stop", "ts": ts, "body": body}


async def post(client: httpx.AsyncClient, auth: dict[str, str], text: str) -> httpx.Response:
    return await client.post(
        URL, content=text, headers={**auth, "Content-Type": "application/json"}
    )


def logged(sessions: sessionmaker[Session]) -> dict[int, tuple[datetime, dict[str, object]]]:
    with sessions() as s:
        return {
            r["seq"]: (AWARE.validate_python(r["ts"]), r["body"])
            for r in logged_records(s.connection(), EDGE)
        }


async def test_seq_ts_and_body_are_stored_as_sent(
    client: httpx.AsyncClient,
    planner: dict[str, str],
    edge_auth: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    await seed(client, planner)
    await work_order(client, planner, "WO-1")
    records = [
        stop(3, "2026-01-05T07:00:00.123456Z", reason='é ✓ "quoted" \\ back'),
        stop(1, 1767596400),  # a Unix time, as pydantic accepts it
        stop(2, "2026-01-05T09:00:00+02:00"),
        stop(2, "2026-01-05T10:00:00Z", reason="second copy of seq 2"),
    ]
    text = json.dumps({"records": records}, ensure_ascii=False)
    r = await post(client, edge_auth, text)
    assert r.status_code == 200, r.text
    assert r.json() == {"acked_through": 3, "accepted": 3, "duplicates": 1}
    rows = logged(sessions)
    assert {seq: ts for seq, (ts, _b) in rows.items()} == {
        1: datetime(2026, 1, 5, 7, 0, tzinfo=UTC),
        2: datetime(2026, 1, 5, 7, 0, tzinfo=UTC),
        3: datetime(2026, 1, 5, 7, 0, 0, 123456, tzinfo=UTC),
    }
    assert rows[3][1]["reason"] == 'é ✓ "quoted" \\ back'
    assert rows[2][1]["reason"] == "jam"  # the first record of a seq wins
    for seq, (_ts, body) in rows.items():
        assert body == next(x["body"] for x in records if x["seq"] == seq)  # as sent
    with sessions() as s:  # the request body itself, byte for byte
        assert s.scalars(select(RecordBatch.body)).all() == [text]
    r = await post(client, edge_auth, text)  # a replay logs nothing more
    assert r.json() == {"acked_through": 3, "accepted": 0, "duplicates": 4}
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RecordBatch)) == 1


async def test_a_nul_character_is_refused_naming_the_record(
    client: httpx.AsyncClient,
    planner: dict[str, str],
    edge_auth: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    await seed(client, planner)
    batch = {"records": [stop(1, "2026-01-05T07:00:00Z"), stop(2, 1767596400, "a\u0000b")]}
    r = await post(client, edge_auth, json.dumps(batch))
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "records", 1, "body"]]
    assert "NUL" in r.json()["detail"][0]["msg"]
    assert logged(sessions) == {}
    literal = {"records": [stop(1, "2026-01-05T07:00:00Z", "C:\\u0000 is not a NUL")]}
    r = await post(client, edge_auth, json.dumps(literal))
    assert r.status_code == 200, r.text
    assert logged(sessions)[1][1]["reason"] == "C:\\u0000 is not a NUL"
