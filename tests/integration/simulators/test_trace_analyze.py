"""A simulated 8 h trace read by ``atelier-edge analyze``: its totals equal the ground truth.

Crosses the simulator/gateway seam on purpose (the trace format is a contract); only the test
imports the gateway, never ``simulators/`` itself.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from edge.cli import main as edge_main
from simulators.cli import main as sim_main
from simulators.truth import read_jsonl

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_analyze_of_the_demo_trace_matches_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace, truth = tmp_path / "demo.csv", tmp_path / "truth.jsonl"
    args = ["trace", "--scenario", str(ROOT / "config/scenarios/demo.yaml"), "--hours", "8"]
    assert sim_main([*args, "--out", str(trace), "--truth", str(truth)]) == 0
    capsys.readouterr()
    config = str(ROOT / "config/edge.yaml")
    code = edge_main(
        ["analyze", "--config", config, "--input", str(trace), "--json", "--by", "hour"]
    )
    assert code == 0
    reports = json.loads(capsys.readouterr().out)
    totals, rejects = Counter[str](), Counter[str]()
    for window in reports:
        totals[window["machine"]] += window["total"]
        rejects[window["machine"]] += window["reject"]
    expected = {r["machine"]: r for r in read_jsonl(truth) if r.get("kind") == "totals"}
    assert set(expected) == {"press-01", "lathe-02", "oven-03"}
    for machine, row in expected.items():
        assert (totals[machine], rejects[machine]) == (row["count"], row["reject"]), machine
    press = [w for w in reports if w["machine"] == "press-01"]
    assert len(press) == 8 and min(w["availability"] for w in press) < 1.0
