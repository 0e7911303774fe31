"""Recorded traces: samples as a CSV or Parquet file, read into numpy arrays per signal.

Format (DESIGN.md, "Recorded traces"): columns ``ts,machine,signal,value``. ``ts`` is ISO 8601
with an offset or ``Z`` (``2026-03-29T01:00:00.5+02:00``), or epoch seconds (a number; the first
row decides which); in Parquet it may also be a timestamp column (a naive one is UTC). ``value``
is a number. Rows may come in any order: they are sorted by (machine, signal, ts) and exact
duplicate rows dropped. Timestamps in memory are UTC nanoseconds (int64).

Everything is columnar (pyarrow reads, numpy sorts): no Python work per row, so a 10-million
row trace reads in seconds. A bad row fails the whole read with :class:`TraceError` naming the
row (CSV: its line in the file; Parquet: its 1-based row number) and what is wrong with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import ArrayLike, NDArray

COLUMNS = ("ts", "machine", "signal", "value")
_MAX_LISTED = 5  # bad rows listed in an error; the rest are counted
_EPOCH_S_LIMIT = 9.2e9  # int64 nanoseconds end in 2262; beyond that it was not seconds
Where = Callable[[int], str]  # row index -> how the error names that row
_NAMES = pa.dictionary(pa.int32(), pa.string())  # machine and signal: few names, many rows


class Columns(NamedTuple):
    """A checked trace, not yet sorted: names as codes (rank in the sorted ``machines``)."""

    ts_ns: NDArray[np.int64]
    machine_codes: NDArray[np.int64]
    machines: list[str]
    signal_codes: NDArray[np.int64]
    signals: list[str]
    values: NDArray[np.float64]


class TraceError(Exception):
    """A trace file that cannot be read: missing, wrong format, or bad rows (all named)."""


@dataclass(frozen=True, slots=True)
class Trace:
    """Samples sorted by (machine, signal, ts); ``series`` gives one signal's arrays."""

    ts_ns: NDArray[np.int64]
    values: NDArray[np.float64]
    index: Mapping[tuple[str, str], tuple[int, int]]  # (machine, signal) -> [start, stop) rows
    rows_read: int = 0
    duplicates_dropped: int = 0
    _empty: tuple[NDArray[np.int64], NDArray[np.float64]] = field(
        default=(np.empty(0, np.int64), np.empty(0, np.float64)), repr=False
    )

    def __len__(self) -> int:
        return len(self.ts_ns)

    @property
    def machines(self) -> tuple[str, ...]:
        return tuple(sorted({machine for machine, _ in self.index}))

    def signals(self, machine: str) -> tuple[str, ...]:
        return tuple(sorted(signal for m, signal in self.index if m == machine))

    def series(self, machine: str, signal: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """(ts_ns, values) of one signal, sorted by time (read-only views; empty if absent)."""
        span = self.index.get((machine, signal))
        if span is None:
            return self._empty
        return self.ts_ns[span[0] : span[1]], self.values[span[0] : span[1]]

    @property
    def start_ns(self) -> int | None:
        return int(self.ts_ns.min()) if len(self.ts_ns) else None

    @property
    def end_ns(self) -> int | None:
        return int(self.ts_ns.max()) if len(self.ts_ns) else None


def read_trace(path: str | Path) -> Trace:
    """Read a ``.csv`` (or ``.csv.gz``) or ``.parquet`` trace; :class:`TraceError` if bad."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: file not found")
    try:
        columns = _read_parquet(path) if _is_parquet(path) else _read_csv(path)
    except pa.ArrowException as exc:
        raise TraceError(f"{path}: cannot read the trace: {exc}") from None
    return _build(columns)


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


# -- CSV -----------------------------------------------------------------------------------


def _types(ts: pa.DataType) -> dict[str, pa.DataType]:
    return {"ts": ts, "machine": _NAMES, "signal": _NAMES, "value": pa.float64()}


def _require_columns(path: Path, names: Sequence[str]) -> None:
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise TraceError(
            f"{path}: no column {', '.join(missing)}; a trace has the columns "
            f"{','.join(COLUMNS)} (this one: {','.join(names)})"
        )


def _read_csv(path: Path) -> Columns:
    epoch = _sniff_epoch(path)
    # Epoch seconds are read as decimals: exact to the nanosecond, where a float64 is not.
    types = _types(pa.decimal128(38, 9) if epoch else pa.timestamp("ns", tz="UTC"))
    try:
        table = _csv_table(path, types, threads=True)
    except pa.ArrowInvalid:
        # A value that does not convert: read it all as text once more to name the bad rows.
        _raise_bad_conversions(
            path, _csv_table(path, dict.fromkeys(COLUMNS, pa.string())), types, _csv_line
        )
        raise
    return _checked(path, table, epoch, _csv_line)


def _sniff_epoch(path: Path) -> bool:
    reader = pa_csv.open_csv(
        path,
        parse_options=pa_csv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.string())),
    )
    try:
        _require_columns(path, reader.schema.names)
        batch = reader.read_next_batch()
    except StopIteration:
        return False
    finally:
        reader.close()
    first = batch.column("ts")[0].as_py() if batch.num_rows else ""
    try:
        float(first)
    except ValueError:
        return False
    return True


def _csv_table(path: Path, types: Mapping[str, pa.DataType], threads: bool = True) -> pa.Table:
    invalid: list[pa_csv.InvalidRow] = []

    def keep(row: pa_csv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=threads),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=keep),
        convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=list(COLUMNS)),
    )
    if invalid and threads:
        _csv_table(path, types, threads=False)  # single-threaded, the rows get line numbers
    if invalid:
        lines = [
            f"line {row.number}: {row.actual_columns} fields instead of "
            f"{row.expected_columns}: {row.text[:80]!r}"
            for row in invalid[:_MAX_LISTED]
        ]
        raise TraceError(_bad_rows_message(path, lines, len(invalid)))
    return table


# -- Parquet -------------------------------------------------------------------------------


def _read_parquet(path: Path) -> Columns:
    schema = pq.read_schema(path)
    _require_columns(path, schema.names)
    text = [c for c in ("machine", "signal") if pa.types.is_string(schema.field(c).type)]
    table = pq.read_table(path, columns=list(COLUMNS), read_dictionary=text)
    ts_type = table.schema.field("ts").type
    epoch = not pa.types.is_timestamp(ts_type)
    if pa.types.is_timestamp(ts_type):
        ts_to = pa.timestamp("ns")  # keeps the UTC instant of an aware one; naive ones are UTC
    elif pa.types.is_string(ts_type) or pa.types.is_large_string(ts_type):
        epoch, ts_to = False, pa.timestamp("ns", tz="UTC")
    else:
        ts_to = ts_type if pa.types.is_decimal(ts_type) else pa.float64()
    types = _types(ts_to)
    try:
        table = pa.table({c: _cast(table.column(c), types[c]) for c in COLUMNS})
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = pa.table({c: pc.cast(table.column(c), pa.string()) for c in COLUMNS})
        _raise_bad_conversions(path, text, types, _parquet_row)
        raise
    return _checked(path, table, epoch, _parquet_row)


def _cast(column: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray:
    if to == _NAMES and not pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())  # numbers as machine names, say
    return column.cast(to)


def _parquet_row(i: int) -> str:
    return f"row {i + 1}"


def _csv_line(i: int) -> str:
    return f"line {i + 2}"  # line 1 is the header


# -- checks shared by both formats -----------------------------------------------------------


def _checked(path: Path, table: pa.Table, epoch: bool, where: Where) -> Columns:
    """Columns as arrays, after checking (vectorised) that no row has a missing part."""
    machine_codes, machines = _codes(table.column("machine"))
    signal_codes, signals = _codes(table.column("signal"))
    problems = {
        "no ts": pc.is_null(table.column("ts"), nan_is_null=True),
        "empty machine": machine_codes < 0,
        "empty signal": signal_codes < 0,
        "no value (empty or NaN)": pc.is_null(table.column("value"), nan_is_null=True),
    }
    if epoch:
        seconds = table.column("ts").cast(pa.float64()).to_numpy()
        problems["ts out of range for epoch seconds (milliseconds?)"] = (
            np.abs(np.nan_to_num(seconds)) >= _EPOCH_S_LIMIT
        )
    _raise_masked(path, problems, where)
    if epoch:
        ts_ns = _epoch_ns(table.column("ts"))
    else:
        ts_ns = table.column("ts").cast(pa.int64()).to_numpy()
    values = table.column("value").to_numpy().astype(np.float64, copy=False)
    return Columns(ts_ns, machine_codes, machines, signal_codes, signals, values)


def _epoch_ns(seconds: pa.ChunkedArray) -> NDArray[np.int64]:
    """Epoch seconds -> int64 nanoseconds without float rounding (``x.25`` s stays exact): a
    decimal with scale 9 stores the nanoseconds as its integer; a float is split first."""
    if pa.types.is_decimal(seconds.type):
        exact = seconds.cast(pa.decimal128(38, 9)).combine_chunks()
        if len(exact) == 0:
            return np.empty(0, np.int64)
        # 128-bit little-endian integers: the low 64-bit word holds the (range-checked) value.
        words = np.frombuffer(exact.buffers()[1], dtype="<i8")
        return words[2 * exact.offset : 2 * (exact.offset + len(exact)) : 2].astype(np.int64)
    floats: NDArray[np.float64] = seconds.cast(pa.float64()).to_numpy()
    whole = np.floor(floats)
    fraction_ns = np.round((floats - whole) * 1e9).astype(np.int64)
    ns: NDArray[np.int64] = whole.astype(np.int64) * 1_000_000_000 + fraction_ns
    return ns


def _raise_masked(
    path: Path, problems: Mapping[str, pa.ChunkedArray | NDArray[np.bool_]], where: Where
) -> None:
    masks = {
        name: m.to_numpy() if isinstance(m, pa.ChunkedArray) else m for name, m in problems.items()
    }
    bad = np.zeros(len(next(iter(masks.values()))), dtype=bool)
    for mask in masks.values():
        bad |= mask
    rows = np.flatnonzero(bad)
    if len(rows) == 0:
        return
    lines = [
        f"{where(int(i))}: " + ", ".join(n for n, m in masks.items() if m[i])
        for i in rows[:_MAX_LISTED]
    ]
    raise TraceError(_bad_rows_message(path, lines, len(rows)))


def _raise_bad_conversions(
    path: Path, text: pa.Table, types: Mapping[str, pa.DataType], where: Where
) -> None:
    """Find (by bisection, with Arrow's own parser) the first rows that do not convert."""
    found: list[tuple[int, str]] = []
    for column in COLUMNS:
        for i in _bad_positions(text.column(column).combine_chunks(), types[column], 0):
            shown = text.column(column)[i].as_py()
            found.append((i, f"{where(i)}: {column} {shown!r} is not {_describe(column, types)}"))
    if found:
        lines = [line for _, line in sorted(found)[:_MAX_LISTED]]
        raise TraceError(_bad_rows_message(path, lines, len(found)))


def _bad_positions(array: pa.Array, to: pa.DataType, offset: int, limit: int = 100) -> list[int]:
    try:
        pc.cast(array, to)
        return []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(array) == 1:
            return [offset]
    half = len(array) // 2
    found = _bad_positions(array.slice(0, half), to, offset, limit)
    if len(found) < limit:
        found += _bad_positions(array.slice(half), to, offset + half, limit - len(found))
    return found


def _describe(column: str, types: Mapping[str, pa.DataType]) -> str:
    if column != "ts":
        return "a number"
    if pa.types.is_timestamp(types["ts"]):
        return "an ISO 8601 time with an offset or Z (e.g. 2026-03-29T01:00:00Z)"
    return "epoch seconds, up to 9 decimals (the first row has a number, so every row must)"


def _bad_rows_message(path: Path, lines: Sequence[str], total: int) -> str:
    more = f"\n  ... and {total - len(lines)} more" if total > len(lines) else ""
    return f"{path}: {total} bad row{'s' if total != 1 else ''}:\n  " + "\n  ".join(lines) + more


# -- sorting, de-duplication, index -----------------------------------------------------------


def _codes(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], list[str]]:
    """Each row's rank among the sorted distinct names (-1: null or empty), and those names."""
    unified = pa.table({"names": column}).unify_dictionaries().column("names")
    if unified.num_chunks == 0:
        return np.empty(0, np.int64), []
    names: list[str] = unified.chunk(0).dictionary.to_pylist()
    codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy() for c in unified.chunks])
    kept = sorted((i for i, name in enumerate(names) if name), key=names.__getitem__)
    rank = np.full(len(names) + 1, -1, np.int64)  # the extra last entry: code -1 (null) -> -1
    rank[kept] = np.arange(len(kept))
    return rank[codes], [names[i] for i in kept]


def _sort_order(key: NDArray[np.int64], ts_ns: NDArray[np.int64]) -> NDArray[np.intp]:
    """Row order by (key, ts): a stable sort by ts, then a stable one by key (a radix sort when
    the keys fit 16 bits, which they do unless a trace has more than 65,536 signals)."""
    small = key.astype(np.uint16) if len(key) and key.max() < 1 << 16 else key
    if np.all(ts_ns[1:] >= ts_ns[:-1]):  # time-ordered, signals interleaved: a live export
        return np.argsort(small, kind="stable")
    by_ts = np.argsort(ts_ns, kind="stable")
    return by_ts[np.argsort(small[by_ts], kind="stable")]


def _values_sorted_within_ties(
    values: NDArray[np.float64], tie: NDArray[np.bool_]
) -> NDArray[np.float64]:
    starts_group = np.concatenate(([True], ~tie))  # row i starts a new (key, ts) group
    in_tie = np.concatenate((tie, [False])) | np.concatenate(([False], tie))
    rows = np.flatnonzero(in_tie)
    group = np.cumsum(starts_group)[rows]
    values = values.copy()
    values[rows] = values[rows[np.lexsort((values[rows], group))]]
    return values


def _build(columns: Columns) -> Trace:
    ts_ns, values, machines, signals = (
        columns.ts_ns,
        columns.values,
        columns.machines,
        columns.signals,
    )
    key = columns.machine_codes * max(len(signals), 1) + columns.signal_codes
    same_key = key[1:] == key[:-1]
    step = np.diff(ts_ns)
    out_of_order = bool(np.any(key[1:] < key[:-1]) or np.any(same_key & (step < 0)))
    if out_of_order:
        order = _sort_order(key, ts_ns)
        key, ts_ns, values = key[order], ts_ns[order], values[order]
        same_key, step = key[1:] == key[:-1], np.diff(ts_ns)
    tie = same_key & (step == 0)
    if tie.any():
        # Rows with the same (machine, signal, ts): order them by value so that exact
        # duplicates sit side by side, then keep the first of each.
        values = _values_sorted_within_ties(values, tie)
        keep = np.concatenate(([True], ~(tie & (values[1:] == values[:-1]))))
        key, ts_ns, values = key[keep], ts_ns[keep], values[keep]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))[: len(key)]
    stops = np.append(starts[1:], len(key))[: len(starts)]
    width = max(len(signals), 1)
    index = {
        (machines[int(key[a]) // width], signals[int(key[a]) % width]): (int(a), int(b))
        for a, b in zip(starts, stops, strict=True)
    }
    ts_ns.flags.writeable = False
    values.flags.writeable = False
    rows = len(columns.ts_ns)
    return Trace(ts_ns, values, index, rows_read=rows, duplicates_dropped=rows - len(ts_ns))


# -- writing --------------------------------------------------------------------------------


def write_trace(
    path: str | Path,
    ts_ns: ArrayLike,
    machine: str | ArrayLike,
    signal: str | ArrayLike,
    value: ArrayLike,
) -> int:
    """Write samples (columnar; ``machine``/``signal`` may be one string for every row) as CSV
    (ISO 8601 UTC, ``Z``; ``.csv.gz`` compressed) or Parquet by the file's extension; returns
    the row count. The file appears whole or not at all."""
    path = Path(path)
    ts = np.asarray(ts_ns, dtype=np.int64)
    values = np.asarray(value, dtype=np.float64)
    columns = {"machine": _strings(machine, len(ts)), "signal": _strings(signal, len(ts))}
    lengths = {len(ts), len(values), *(len(c) for c in columns.values())}
    if len(lengths) != 1:
        raise ValueError(f"write_trace: columns of different lengths {sorted(lengths)}")
    if np.isnan(values).any() or np.isinf(values).any():
        raise ValueError("write_trace: values must be finite numbers")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if _is_parquet(path):
            stamps = pa.array(ts, type=pa.timestamp("ns", tz="UTC"))
            pq.write_table(pa.table({"ts": stamps, **columns, "value": values}), tmp)
        else:
            table = pa.table({"ts": _iso_utc(ts), **columns, "value": values})
            _write_csv(table, tmp, gzip=path.name.lower().endswith(".gz"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(ts)


def _strings(column: str | ArrayLike, n: int) -> pa.Array | pa.ChunkedArray:
    if isinstance(column, str):
        return pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([column]))
    if isinstance(column, pa.Array | pa.ChunkedArray):
        return column.cast(pa.string())
    return pa.array(column, type=pa.string())


def _iso_utc(ts_ns: NDArray[np.int64]) -> pa.Array:
    """ISO 8601 UTC text (``2026-03-29T01:00:00.250Z``), with as many fraction digits (0, 3, 6
    or 9) as the data needs. Each distinct second is formatted once: formatting every row (Arrow's
    strftime or CSV writer, numpy's datetime_as_string) is several times slower."""
    seconds = ts_ns // 1_000_000_000
    fraction = ts_ns - seconds * 1_000_000_000
    encoded = pc.dictionary_encode(pa.array(seconds))
    distinct = encoded.dictionary.to_numpy().astype("datetime64[s]")
    text = pa.array(np.datetime_as_string(distinct, unit="s")).take(encoded.indices)
    digits = next(d for d in (0, 3, 6, 9) if not np.any(fraction % 10 ** (9 - d)))
    if digits == 0:
        return pc.binary_join_element_wise(text, pa.scalar("Z"), "")
    # A leading 1 keeps the zeros (0.05 s -> 1050 -> ".050"); it is then replaced by the dot.
    scaled = pa.array(fraction // 10 ** (9 - digits) + 10**digits).cast(pa.string())
    dotted = pc.utf8_replace_slice(scaled, start=0, stop=1, replacement=".")
    return pc.binary_join_element_wise(text, dotted, pa.scalar("Z"), "")


def _write_csv(table: pa.Table, path: Path, gzip: bool) -> None:
    plain = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")
    quoted = pa_csv.WriteOptions(quoting_header="none")  # for a name with a comma or a quote
    for options in (plain, quoted):
        try:
            if gzip:
                with pa.CompressedOutputStream(str(path), "gzip") as out:
                    pa_csv.write_csv(table, out, options)
            else:
                pa_csv.write_csv(table, path, options)
            return
        except pa.ArrowInvalid:
            if options is quoted:
                raise
