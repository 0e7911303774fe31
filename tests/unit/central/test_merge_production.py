"""Production records merged per (work order, machine, lot) equal a record-by-record sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central.contract import ProductionBody, ProductionRecord
from central.services.apply import merge_production

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def reference(records: list[ProductionRecord]) -> dict[Any, list[Any]]:
    agg: dict[Any, list[Any]] = {}
    for r in records:
        b = r.body
        run_s = max((b.period_end - b.period_start).total_seconds(), 0.0)
        a = agg.setdefault(
            (b.work_order, b.machine, b.lot), [0, 0, 0.0, b.period_start, b.period_end, r.seq]
        )
        a[0] += b.good
        a[1] += b.scrap
        a[2] += run_s
        a[3] = min(a[3], b.period_start)
        a[4] = max(a[4], b.period_end)
        a[5] = r.seq
    return agg


record = st.builds(
    lambda wo, machine, lot, good, scrap, start, span: (wo, machine, lot, good, scrap, start, span),
    st.sampled_from([None, "WO-1", "WO-2"]),
    st.sampled_from(["m-1", "m-2"]),
    st.sampled_from([None, "L1"]),
    st.integers(0, 50),
    st.integers(0, 5),
    st.integers(-3600, 3600),
    st.floats(-30, 120, allow_nan=False).map(lambda s: round(s, 3)),
)


@given(st.lists(record, min_size=1, max_size=40))
def test_equals_the_record_by_record_sum(rows: list[tuple[Any, ...]]) -> None:
    records = [
        ProductionRecord(
            seq=i + 1,
            kind="production",
            ts=T0,
            body=ProductionBody(
                work_order=wo,
                machine=machine,
                lot=lot,
                good=good,
                scrap=scrap,
                period_start=T0 + timedelta(seconds=start),
                period_end=T0 + timedelta(seconds=start + span),
            ),
        )
        for i, (wo, machine, lot, good, scrap, start, span) in enumerate(rows)
    ]
    got = merge_production(records)
    want = reference(records)
    assert list(got) == list(want)  # keys in order of first appearance
    for key, a in want.items():
        g = got[key]
        assert g[:2] == a[:2] and g[3:] == a[3:]
        assert abs(g[2] - a[2]) <= 1e-9 * max(1.0, a[2])


def test_one_order_batch_and_a_negative_period() -> None:
    body = {"work_order": "WO-1", "machine": "m-1", "good": 2, "scrap": 1}
    records = [
        ProductionRecord.model_validate(
            {
                "seq": 7 + i,
                "kind": "production",
                "ts": T0,
                "body": {**body, "period_start": T0, "period_end": T0 + timedelta(seconds=s)},
            }
        )
        for i, s in enumerate([10, -5, 20])
    ]
    assert merge_production(records) == {
        ("WO-1", "m-1", None): [6, 3, 30.0, T0, T0 + timedelta(seconds=20), 9]
    }
