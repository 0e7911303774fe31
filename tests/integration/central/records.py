"""Record batches as an edge would post them (built with the shared contract)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from central.contract import Record, RecordBatch
from tests.integration.central.plant import NOW


def production(
    seq: int, wo: str = "WO-1", good: int = 10, scrap: int = 1, machine: str = "press-01"
) -> Record:
    start = NOW + timedelta(seconds=10 * seq)
    body = {
        "work_order": wo,
        "machine": machine,
        "good": good,
        "scrap": scrap,
        "period_start": start,
        "period_end": start + timedelta(seconds=10),
    }
    return Record(seq=seq, kind="production", ts=start, body=body)


def record(seq: int, kind: str, **body: Any) -> Record:
    return Record(seq=seq, kind=kind, ts=NOW + timedelta(seconds=seq), body=body)  # type: ignore[arg-type]


def mixed(first_seq: int, n: int, wo: str = "WO-1") -> list[Record]:
    """n records of every kind but hello, cycling, seqs first_seq.. (contiguous)."""
    out: list[Record] = []
    for i in range(n):
        seq = first_seq + i
        k = i % 5
        if k in (0, 1):
            out.append(production(seq, wo))
        elif k == 2:
            out.append(
                record(seq, "consumption", work_order=wo, item="STEEL", lot=f"L{i % 3}", qty=2.5)
            )
        elif k == 3:
            out.append(
                record(
                    seq,
                    "quality",
                    characteristic="width",
                    value=9.0 + (i % 4) * 0.5,
                    work_order=wo,
                    machine="press-01",
                )
            )
        else:
            start = NOW + timedelta(minutes=i)
            out.append(
                record(
                    seq,
                    "stop",
                    machine="press-01",
                    start=start,
                    end=start + timedelta(seconds=30),
                    reason="jam",
                )
            )
    return out


def body(records: list[Record]) -> str:
    return RecordBatch(records=records).model_dump_json()
