"""End to end: ``atelier-edge analyze`` on a config and a CSV trace written by the test."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from edge.analytics.calendar import to_ns
from edge.cli import main
from edge.trace import write_trace

CONFIG = """\
edge: {id: test-cell, data_dir: ./data, timezone: Europe/Paris}
shifts:
  - name: morning
    start: "06:00"
    end: "14:00"
    breaks: [{start: "09:00", minutes: 30}]
machines:
  - id: lathe-02
    ideal_cycle_s: 60
    source:
      protocol: modbus
      host: 127.0.0.1
      signals:
        count:  {address: 0, type: uint16}
        reject: {address: 2, type: uint16}
"""


def _trace_rows() -> list[str]:
    """Monday 2 March 2026, 06:00-14:00 Paris = 05:00-13:00 UTC. One part a minute from 05:00Z,
    a uint16 counter starting near the top (it wraps), stopped 07:00-08:00Z, one reject per 50
    parts. Rows out of order, each written twice, plus a machine the config does not know."""
    rows = []
    count, rejects = 65_500, 0
    for minute in range(0, 8 * 60 + 1):
        if not 120 <= minute < 180 and minute > 0:
            count = (count + 1) % 65_536
            rejects += minute % 50 == 0
        ts = f"2026-03-02T{5 + minute // 60:02d}:{minute % 60:02d}:00Z"
        rows += [f"{ts},lathe-02,count,{count}", f"{ts},lathe-02,reject,{rejects}"]
        rows.append(f"{ts},mystery-9,count,{minute}")
    rows = rows[::-1] + rows[:50]
    return ["ts,machine,signal,value", *rows]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "edge.yaml"
    config.write_text(CONFIG)
    trace = tmp_path / "trace.csv"
    trace.write_text("\n".join(_trace_rows()) + "\n")
    return config, trace


def test_analyze_json_reports_the_shift(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, trace = files
    rc = main(
        ["analyze", "--config", str(config), "--input", str(trace), "--json", "--no-progress"]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert "mystery-9" in err and "not in the config" in err
    [rep] = json.loads(out)
    assert rep["machine"] == "lathe-02" and rep["shift"] == "morning"
    assert (
        rep["window_start"] == "2026-03-02T05:00:00Z"
        and rep["window_end"] == "2026-03-02T13:00:00Z"
    )
    assert rep["planned_s"] == 7.5 * 3600
    assert rep["total"] == 8 * 60 - 60 - 1  # the part at 13:00Z ends the window: not in it
    assert rep["reject"] == 8 and rep["good"] == rep["total"] - 8
    # Stopped one hour: the stop runs from the last part (07:00) to the next one's start.
    assert rep["stop_s"] == 3600 and rep["stops"] == 1
    assert rep["availability"] == pytest.approx(6.5 / 7.5)
    assert rep["performance"] == pytest.approx(rep["total"] * 60 / rep["run_s"])
    assert rep["quality"] == pytest.approx(rep["good"] / rep["total"])
    assert rep["oee"] == pytest.approx(rep["availability"] * rep["performance"] * rep["quality"])


def test_parquet_trace_gives_the_same_reports(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, csv = files
    rows = [line.split(",") for line in _trace_rows()[1:]]
    parquet = tmp_path / "trace.parquet"
    ts = [to_ns(datetime.fromisoformat(r[0])) for r in rows]
    write_trace(
        parquet, ts, [r[1] for r in rows], [r[2] for r in rows], [float(r[3]) for r in rows]
    )
    outputs = []
    for trace in (csv, parquet):
        rc = main(
            ["analyze", "--config", str(config), "--input", str(trace), "--json", "--by", "hour"]
        )
        assert rc == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 8


def test_analyze_by_hour_and_period(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, trace = files
    args = ["analyze", "--config", str(config), "--input", str(trace), "--json", "--no-progress"]
    rc = main(
        [*args, "--by", "hour", "--from", "2026-03-02T08:00:00+01:00", "--to", "2026-03-02T10:00"]
    )
    reports = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [r["window_start"] for r in reports] == ["2026-03-02T07:00:00Z", "2026-03-02T08:00:00Z"]
    # Stopped all hour but its last minute: the cycle of the part that ends at 08:00Z.
    assert reports[0]["availability"] == pytest.approx(1 / 60)
    assert reports[0]["total"] == 0 and reports[0]["performance"] == 0.0
    assert reports[1]["planned_s"] == 1800  # 09:00-09:30 local is a break


def test_analyze_prints_a_table_for_people(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, trace = files
    assert main(["analyze", "--config", str(config), "--input", str(trace), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "lathe-02" in out and "morning" in out and "2026-03-02 06:00–14:00" in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("missing-trace", "file not found"),
        ("missing-config", "file not found"),
        ("bad-row", "line 3"),
        ("bad-config", "machines[0].ideal_cycle_s"),
        ("bad-from", "--from has value 'yesterday'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], change: str, expected: str
) -> None:
    config, trace = files
    extra: list[str] = []
    if change == "missing-trace":
        trace = trace.with_name("nope.csv")
    elif change == "missing-config":
        config = config.with_name("nope.yaml")
    elif change == "bad-row":
        trace.write_text(
            "ts,machine,signal,value\n2026-03-02T05:00:00Z,lathe-02,count,1\nnot-a-time,lathe-02,count,2\n"
        )
    elif change == "bad-config":
        config.write_text(CONFIG.replace("ideal_cycle_s: 60", "ideal_cycle_s: -1"))
    else:
        extra = ["--from", "yesterday"]
    rc = main(["analyze", "--config", str(config), "--input", str(trace), "--json", *extra])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err
    assert "Traceback" not in err
