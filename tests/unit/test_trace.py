"""Recorded traces: CSV and Parquet in, sorted per-signal numpy arrays out; bad rows named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edge.trace import Trace, TraceError, read_trace, write_trace

HEADER = "ts,machine,signal,value\n"
T0 = 1_774_746_000_000_000_000  # 2026-03-29T01:00:00Z, the night Paris moves to summer time


def ns(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def csv(tmp_path: Path, rows: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(TraceError) as info:
        read_trace(path)
    return str(info.value)


def test_iso_with_z_and_offsets(tmp_path: Path) -> None:
    path = csv(
        tmp_path,
        "2026-03-29T01:00:00Z,press-01,count,10\n"
        "2026-03-29T03:00:00.5+02:00,press-01,count,11\n"  # = 01:00:00.5Z
        "2026-03-28T20:00:01.123456789-05:00,press-01,count,12\n"  # = 01:00:01.123456789Z
        "2026-03-29T01:00:02+0000,press-01,state,1\n",
    )
    trace = read_trace(path)
    ts, values = trace.series("press-01", "count")
    assert ts.tolist() == [T0, T0 + 500_000_000, T0 + 1_123_456_789]
    assert values.tolist() == [10.0, 11.0, 12.0]
    assert ts.dtype == np.int64 and values.dtype == np.float64
    assert trace.series("press-01", "state")[0].tolist() == [T0 + 2_000_000_000]
    assert trace.machines == ("press-01",) and trace.signals("press-01") == ("count", "state")
    assert (trace.start_ns, trace.end_ns) == (T0, T0 + 2_000_000_000)


def test_epoch_seconds(tmp_path: Path) -> None:
    rows = "1774746000,m,count,1\n1774746000.25,m,count,2\n1774746001.123456789,m,count,4\n"
    ts, values = read_trace(csv(tmp_path, rows)).series("m", "count")
    assert ts.tolist() == [T0, T0 + 250_000_000, T0 + 1_123_456_789]  # exact to the ns
    assert values.tolist() == [1.0, 2.0, 4.0]


def test_unsorted_rows_are_sorted_and_exact_duplicates_dropped(tmp_path: Path) -> None:
    rows = [
        "2026-03-29T01:00:02Z,b,count,3",
        "2026-03-29T01:00:01Z,a,state,1",
        "2026-03-29T01:00:01Z,b,count,2",
        "2026-03-29T01:00:02Z,b,count,3",  # exact duplicate
        "2026-03-29T01:00:00Z,b,count,1",
        "2026-03-29T01:00:01Z,b,count,9",  # same time, other value: kept
        "2026-03-29T01:00:01Z,b,count,2",  # duplicate not next to its twin
        "2026-03-29T01:00:00Z,a,count,5",
    ]
    trace = read_trace(csv(tmp_path, "\n".join(rows) + "\n"))
    assert trace.machines == ("a", "b")
    ts, values = trace.series("b", "count")
    assert ((ts - T0) // 1_000_000_000).tolist() == [0, 1, 1, 2]
    assert values.tolist() == [1.0, 2.0, 9.0, 3.0]
    assert trace.series("a", "count")[1].tolist() == [5.0]
    assert (trace.rows_read, trace.duplicates_dropped, len(trace)) == (8, 2, 6)
    assert trace.index[("a", "count")] == (0, 1)  # sorted by machine, then signal


def test_absent_series_is_empty_and_arrays_are_read_only(tmp_path: Path) -> None:
    trace = read_trace(csv(tmp_path, "2026-03-29T01:00:00Z,m,count,1\n"))
    ts, values = trace.series("m", "nothing")
    assert len(ts) == 0 and len(values) == 0
    assert trace.signals("other") == ()
    ts, _ = trace.series("m", "count")
    with pytest.raises(ValueError, match="read-only"):
        ts[0] = 0


def test_header_only_is_an_empty_trace(tmp_path: Path) -> None:
    trace = read_trace(csv(tmp_path, ""))
    assert len(trace) == 0 and trace.machines == () and trace.start_ns is None


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "2026-03-29T01:00:00Z,m,count,1\n2026-03-29T01:00:01Z,m,count,abc\n",
            "line 3: value 'abc' is not a number",
        ),
        (
            "2026-03-29T01:00:00Z,m,count,1\n2026-03-29T01:00:01,m,count,2\n",
            "line 3: ts '2026-03-29T01:00:01' is not an ISO 8601 time with an offset or Z",
        ),
        (
            "2026-03-29T01:00:00Z,m,count,1\n2026-02-30T01:00:00Z,m,count,2\n",
            "line 3: ts '2026-02-30T01:00:00Z'",
        ),
        (
            "1774746000,m,count,1\n2026-03-29T01:00:01Z,m,count,2\n",
            "line 3: ts '2026-03-29T01:00:01Z' is not epoch seconds",
        ),
        (
            "2026-03-29T01:00:00Z,m,count,1\n2026-03-29T01:00:01Z,m,count\n",
            "line 3: 3 fields instead of 4",
        ),
        ("2026-03-29T01:00:00Z,,count,1\n", "line 2: empty machine"),
        ("2026-03-29T01:00:00Z,m,,1\n", "line 2: empty signal"),
        ("2026-03-29T01:00:00Z,m,count,\n", "line 2: no value"),
        ("2026-03-29T01:00:00Z,m,count,nan\n", "line 2: no value (empty or NaN)"),
        ("1774746000000,m,count,1\n", "line 2: ts out of range for epoch seconds (milliseconds?)"),
    ],
    ids=[
        "value",
        "naive ts",
        "no such day",
        "mixed ts",
        "fields",
        "machine",
        "signal",
        "empty value",
        "nan",
        "epoch ms",
    ],
)
def test_bad_rows_are_named(tmp_path: Path, rows: str, expected: str) -> None:
    message = error_of(csv(tmp_path, rows))
    assert message.startswith(f"{tmp_path / 'trace.csv'}: ")
    assert expected in message


def test_many_bad_rows_are_counted(tmp_path: Path) -> None:
    rows = "".join(f"2026-03-29T01:00:{i:02d}Z,m,count,x{i}\n" for i in range(30))
    message = error_of(csv(tmp_path, rows))
    assert "30 bad rows" in message and "line 2: value 'x0'" in message
    assert "... and 25 more" in message


def test_missing_column_and_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,machine,signal,value\n2026-03-29T01:00:00Z,m,c,1\n", encoding="utf-8")
    assert "no column ts" in error_of(path)
    assert "file not found" in error_of(tmp_path / "absent.csv")


def parquet(tmp_path: Path, ts: pa.Array, value: pa.Array | None = None) -> Path:
    path = tmp_path / "trace.parquet"
    n = len(ts)
    table = pa.table(
        {
            "machine": pa.array(["m"] * n).dictionary_encode(),
            "signal": pa.array(["count"] * n, type=pa.large_string()),
            "ts": ts,
            "value": value if value is not None else pa.array(range(n), type=pa.int32()),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    "ts",
    [
        pa.array([T0 // 1_000_000, T0 // 1_000_000 + 250], type=pa.timestamp("ms", tz="UTC")),
        pa.array([T0 // 1000, T0 // 1000 + 250_000], type=pa.timestamp("us", tz="Europe/Paris")),
        pa.array([T0, T0 + 250_000_000], type=pa.timestamp("ns")),  # naive: UTC
        pa.array([T0 / 1e9, T0 / 1e9 + 0.25]),  # epoch seconds
        pa.array(["2026-03-29T03:00:00+02:00", "2026-03-29T01:00:00.25Z"]),
    ],
    ids=["timestamp ms", "timestamp us tz", "naive ns", "epoch float", "iso strings"],
)
def test_parquet_timestamps(tmp_path: Path, ts: pa.Array) -> None:
    got_ts, values = read_trace(parquet(tmp_path, ts)).series("m", "count")
    assert got_ts.tolist() == [T0, T0 + 250_000_000]
    assert values.tolist() == [0.0, 1.0]


def test_parquet_bad_rows(tmp_path: Path) -> None:
    ts = pa.array([T0, T0 + 1, T0 + 2], type=pa.timestamp("ns", tz="UTC"))
    path = parquet(tmp_path, ts, pa.array([1.0, None, 3.0]))
    assert "row 2: no value" in error_of(path)
    path = parquet(tmp_path, pa.array(["2026-03-29T01:00:00Z", "soon"]))
    assert "row 2: ts 'soon'" in error_of(path)


def random_samples(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = T0 + rng.integers(0, 86_400_000_000_000, n)
    machine = np.array(["press-01", "lathe-02", "oven-03"])[rng.integers(0, 3, n)]
    signal = np.array(["count", "state", "quality.diameter"])[rng.integers(0, 3, n)]
    value = rng.normal(100, 30, n)
    return ts, machine, signal, value


def expected_series(
    ts: np.ndarray, machine: np.ndarray, signal: np.ndarray, value: np.ndarray, m: str, s: str
) -> tuple[list[int], list[float]]:
    mask = (machine == m) & (signal == s)
    pairs = sorted(set(zip(ts[mask].tolist(), value[mask].tolist(), strict=True)))
    return [t for t, _ in pairs], [v for _, v in pairs]


@pytest.mark.parametrize("name", ["trace.csv", "trace.csv.gz", "trace.parquet"])
def test_write_then_read_round_trip(tmp_path: Path, name: str) -> None:
    ts, machine, signal, value = random_samples(20_000, seed=7)
    ts[:50], machine[:50], signal[:50], value[:50] = (
        ts[50:100],
        machine[50:100],
        signal[50:100],
        value[50:100],
    )  # 50 exact duplicates
    assert write_trace(tmp_path / name, ts, machine, signal, value) == 20_000
    trace = read_trace(tmp_path / name)
    assert trace.duplicates_dropped == 50
    for m in ("press-01", "lathe-02", "oven-03"):
        for s in ("count", "state", "quality.diameter"):
            got_ts, got_values = trace.series(m, s)
            want_ts, want_values = expected_series(ts, machine, signal, value, m, s)
            assert got_ts.tolist() == want_ts
            assert got_values.tolist() == want_values  # floats survive the text round trip


def test_names_with_commas_are_quoted(tmp_path: Path) -> None:
    write_trace(tmp_path / "t.csv", [T0], 'cell "A", press', "count", [1.0])
    assert read_trace(tmp_path / "t.csv").machines == ('cell "A", press',)


def test_write_csv_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_trace(path, [T0 + 50_000_000, T0], "press-01", ["count", "state"], [2.0, 1.5])
    assert path.read_text(encoding="utf-8").splitlines() == [
        "ts,machine,signal,value",
        "2026-03-29T01:00:00.050Z,press-01,count,2",
        "2026-03-29T01:00:00.000Z,press-01,state,1.5",
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_rejects_bad_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="different lengths"):
        write_trace(tmp_path / "t.csv", [1, 2], "m", ["a"], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        write_trace(tmp_path / "t.parquet", [1], "m", "s", [float("nan")])
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "t.parquet").exists()


def test_trace_is_a_value() -> None:
    trace = Trace(np.array([1, 2], np.int64), np.array([1.0, 2.0]), {("m", "s"): (0, 2)})
    assert trace.series("m", "s")[1].tolist() == [1.0, 2.0] and len(trace) == 2
    assert ns("2026-03-29T01:00:00+00:00") == T0


def test_parquet_in_many_row_groups(tmp_path: Path) -> None:
    ts, machine, signal, value = random_samples(5_000, seed=3)
    table = pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("ns", tz="UTC")),
            "machine": machine,
            "signal": signal,
            "value": value,
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=700)  # 8 chunks when read
    trace = read_trace(tmp_path / "t.parquet")
    assert trace.machines == ("lathe-02", "oven-03", "press-01")
    got_ts, got_values = trace.series("oven-03", "quality.diameter")
    want_ts, want_values = expected_series(
        ts, machine, signal, value, "oven-03", "quality.diameter"
    )
    assert got_ts.tolist() == want_ts and got_values.tolist() == want_values
