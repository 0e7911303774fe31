"""``atelier-edge export`` writes stored samples as a trace that ``edge.trace`` reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.store import Store
from edge.trace import read_trace
from tests.unit.edge.conftest import NS, sample_columns

T0 = 1_767_600_000 * NS  # 2026-01-05T08:00:00Z


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "edge.yaml"
    data = {
        "edge": {"id": "x", "data_dir": str(tmp_path / "data"), "timezone": "Europe/Paris"},
        "machines": [
            {
                "id": "m1",
                "ideal_cycle_s": 1.0,
                "source": {
                    "protocol": "mqtt",
                    "url": "mqtt://127.0.0.1:1883",
                    "topic": "t",
                    "signals": {"count": {"field": "c"}},
                },
            }
        ],
    }
    path.write_text(json.dumps(data))
    store = Store(tmp_path / "data")
    store.open()
    n = 100
    store.append_samples(
        sample_columns(
            [T0 + i * NS for i in range(n)],
            ["m1"] * n,
            ["count" if i % 2 else "state" for i in range(n)],
            [float(i) for i in range(n)],
        )
    )
    store.close()
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_range_round_trips(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    out = tmp_path / f"trace{suffix}"
    # 09:00:10 Paris = 08:00:10 UTC: a naive time is local to the edge.
    rc = main(
        [
            "export",
            "--config",
            str(config),
            "--from",
            "2026-01-05T09:00:10",
            "--to",
            "2026-01-05T08:00:30Z",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert "20 samples written" in capsys.readouterr().out
    trace = read_trace(out)
    ts, values = trace.series("m1", "count")
    assert ts.tolist() == [T0 + i * NS for i in range(11, 30, 2)]
    assert values.tolist() == [float(i) for i in range(11, 30, 2)]
    assert len(trace.series("m1", "state")[0]) == 10


def test_export_bad_arguments_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    rc = main(
        [
            "export",
            "--config",
            str(config),
            "--from",
            "yesterday",
            "--to",
            "2026-01-06",
            "--out",
            str(tmp_path / "t.csv"),
        ]
    )
    assert rc == 1
    assert "--from: 'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
    rc = main(
        [
            "export",
            "--config",
            str(config),
            "--from",
            "2026-01-06",
            "--to",
            "2026-01-05",
            "--out",
            str(tmp_path / "t.csv"),
        ]
    )
    assert rc == 1
    assert "--to must be after --from" in capsys.readouterr().err
