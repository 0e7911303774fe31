"""Offline traces: 8 h of the demo, counters in the trace agree with the ground truth."""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulators.cli import main
from simulators.machine import MachineModel
from simulators.scenario import load_scenario
from simulators.trace import counter_modulus, write_trace
from simulators.truth import read_jsonl

SCENARIOS = Path(__file__).resolve().parents[3] / "config" / "scenarios"
Demo = tuple[Path, Path, list[MachineModel]]  # trace, truth, models


def read_trace(path: Path) -> dict[tuple[str, str], list[tuple[datetime, int]]]:
    series: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["ts", "machine", "signal", "value"]
        for ts, machine, signal, value in reader:
            assert ts.endswith("Z")
            when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            series[(machine, signal)].append((when, int(value)))
    return series


def increments(values: list[int], modulus: int | None) -> int:
    total = 0
    for before, after in itertools.pairwise(values):
        step = after - before
        if step < 0:
            assert modulus is not None, "a counter without width went backwards"
            step += modulus
        total += step
    return total


@pytest.fixture(scope="module")
def demo_trace(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("trace")
    out, truth = folder / "trace.csv", folder / "truth.jsonl"
    code = main(
        [
            "trace",
            "--scenario",
            str(SCENARIOS / "demo.yaml"),
            "--hours",
            "8",
            "--out",
            str(out),
            "--truth",
            str(truth),
        ]
    )
    assert code == 0
    result = write_trace(load_scenario(SCENARIOS / "demo.yaml"), hours=8, out=folder / "again.csv")
    return out, truth, result.models


def test_truth_totals_match_trace_counters(demo_trace: Demo) -> None:
    out, truth_path, models = demo_trace
    series = read_trace(out)
    totals = {row["machine"]: row for row in read_jsonl(truth_path) if row.get("kind") == "totals"}
    assert set(totals) == {"press-01", "lathe-02", "oven-03"}
    for model in models:
        counts = [v for _, v in series[(model.id, "count")]]
        rejects = [v for _, v in series[(model.id, "reject")]]
        assert increments(counts, counter_modulus(model, "count")) == totals[model.id]["count"]
        assert increments(rejects, counter_modulus(model, "reject")) == totals[model.id]["reject"]
        assert totals[model.id]["count"] == model.truth.count
    press = totals["press-01"]
    assert 15_000 < press["count"] < 28_800  # 8 h at 1 s ideal, with losses
    assert press["reject"] > 0 and press["micro_stops"] > 0


def test_trace_is_deterministic(demo_trace: Demo) -> None:
    out, _, _ = demo_trace
    assert out.read_bytes() == (out.parent / "again.csv").read_bytes()


def test_trace_states_follow_truth(demo_trace: Demo) -> None:
    out, truth_path, _ = demo_trace
    series = read_trace(out)
    events = [e for e in read_jsonl(truth_path) if e.get("kind") == "state"]
    # Canonical codes (what a gateway stores), not the demo's wire codes.
    codes = {"running": 1, "micro_stop": 1, "idle": 2, "stopped": 3, "fault": 4, "setup": 5}
    for machine in ("press-01", "lathe-02", "oven-03"):
        in_trace = [(t, v) for t, v in series[(machine, "state")]]
        for event in [e for e in events if e["machine"] == machine][:200]:
            when = datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
            shown = [v for t, v in in_trace if t <= when][-1]
            assert shown == codes[event["state"]]


def test_trace_start_option_and_wrapping_counter(tmp_path: Path) -> None:
    out = tmp_path / "line.csv"
    start = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    result = write_trace(load_scenario(SCENARIOS / "line.yaml"), hours=4, out=out, start=start)
    series = read_trace(out)
    wash = [v for _, v in series[("wash-05", "count")]]
    assert wash[0] == 65000 and min(wash[1:]) < 1000, "uint16 counter must wrap"
    model = next(m for m in result.models if m.id == "wash-05")
    assert increments(wash, 65536) == model.truth.count
    assert series[("saw-01", "count")][0][0] == start
