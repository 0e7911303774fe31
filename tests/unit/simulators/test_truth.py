"""Ground truth record and its JSONL stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.telemetry import MqttFaults, bad_payload, encode
from simulators.truth import GroundTruth, TruthWriter, iso_utc, read_jsonl


def test_jsonl_stream_then_totals(tmp_path: Path) -> None:
    a, b = GroundTruth("a"), GroundTruth("b")
    writer = TruthWriter(tmp_path / "t.jsonl", [a, b])
    writer.start()
    a.record_state(10, "running", "start")
    b.record_cycle(5, rejected=True)
    writer.flush()
    a.record_cycle(20, rejected=False)
    a.record_injected(21, "mqtt_malformed")
    writer.finish()
    rows = read_jsonl(tmp_path / "t.jsonl")
    assert [(r["machine"], r["kind"]) for r in rows] == [
        ("b", "cycle"),
        ("a", "state"),
        ("a", "cycle"),
        ("a", "injected"),
        ("a", "totals"),
        ("b", "totals"),
    ]
    assert rows[0]["rejected"] is True and rows[4]["count"] == 1 and rows[4]["injected"] == 1
    assert rows[5]["reject"] == 1 and rows[5]["good"] == 0


def test_iso_utc_keeps_microseconds() -> None:
    assert iso_utc(1_767_592_800_123_456_789) == "2026-01-05T06:00:00.123456Z"


def test_bad_payloads_are_bad() -> None:
    message = {"ts": 1, "counters": {"total": 3, "reject": 0}, "status": "RUN"}
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad_payload("malformed", message))
    wrong = json.loads(bad_payload("wrong_type", message))
    assert not isinstance(wrong["counters"]["total"], int)
    assert len(bad_payload("oversized", message)) > 500_000
    assert json.loads(encode(message)) == message


def test_fault_draw_follows_shares() -> None:
    import random

    rng = random.Random(1)
    faults = MqttFaults(malformed_share=0.2, wrong_type_share=0.1)
    draws = [faults.draw(rng) for _ in range(5000)]
    assert 800 < draws.count("malformed") < 1200
    assert 350 < draws.count("wrong_type") < 650
    assert "oversized" not in draws
    assert MqttFaults().draw(rng) is None
