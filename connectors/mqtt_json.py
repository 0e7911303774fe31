"""JSON MQTT payloads -> samples. Pure.

A message is one JSON object; each signal names a dotted field path (``counters.total``). The
machine is the topic level ``machine_level`` (0-based) when set, else the source's machine.
``timestamp_field`` holds epoch milliseconds or an ISO 8601 string; without it samples carry
the receive time. :meth:`JsonDecoder.decode_burst` turns a burst of messages into columns with
no Sample per value: all at once through Arrow's JSON reader (C++, without the GIL) when the
burst is clean, else message by message through :meth:`JsonDecoder.clean`; what neither takes
goes through :meth:`JsonDecoder.decode`, which names its problems. Whole-message problems
raise BadInput (``malformed_json``, ``not_object``, ``bad_timestamp``, ``no_known_fields``); a
bad field is reported and the others still count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from numpy.typing import NDArray

from connectors.base import BadInput, Sample, SampleColumns
from connectors.specs import MqttSignalSpec
from connectors.values import UnmappedState, ValueMap, state_codes

_MISSING = object()
_MAX_EPOCH_MS = (2**63 - 1) // 1_000_000  # beyond: the timestamp in ns overflows int64
_MAX_FLOAT_INT = 2**1023  # float(int) raises OverflowError from about here on
# Sample(...) runs the NamedTuple's Python-level __new__; tuple.__new__ builds the same object
# in C, ~90 ns less per value (4 values a message on the hot path).
_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class _Field:
    signal: str
    path: tuple[str, ...]
    values: ValueMap
    plain: bool  # no states, scale 1, offset 0: a number passes through as float
    key: str | None  # the key when the path has one level (the common case: no walk)


_PLAIN = ValueMap()
_BULK_READ = pj.ReadOptions(use_threads=False, block_size=1 << 24)


def _bulk_options(
    timestamp: tuple[str, ...] | None, fields: Sequence[_Field]
) -> pj.ParseOptions | None:
    """The Arrow schema of the fields read (nested structs for dotted paths), or None when two
    paths collide (one inside the other, or one field read as two types): no bulk reading."""
    leaves: dict[tuple[str, ...], pa.DataType] = {}
    wanted = [(f.path, pa.float64() if f.values.states is None else pa.string()) for f in fields]
    if timestamp is not None:
        wanted.append((timestamp, pa.int64()))
    for path, kind in wanted:
        if leaves.setdefault(path, kind) != kind:
            return None
    paths = list(leaves)
    if any(a != b and a == b[: len(a)] for a in paths for b in paths):
        return None

    def struct(prefix: tuple[str, ...]) -> list[pa.Field]:
        names = dict.fromkeys(p[len(prefix)] for p in paths if p[: len(prefix)] == prefix)
        return [
            pa.field(name, leaves.get((*prefix, name)) or pa.struct(struct((*prefix, name))))
            for name in names
        ]

    return pj.ParseOptions(
        explicit_schema=pa.schema(struct(())), unexpected_field_behavior="ignore"
    )


def parse_timestamp_ns(raw: object) -> int:
    """Epoch milliseconds (number) or ISO 8601 (``Z`` or offset; naive means UTC) -> ns."""
    if isinstance(raw, bool):
        raise BadInput("bad_timestamp", repr(raw))
    if isinstance(raw, int):
        return raw * 1_000_000
    if isinstance(raw, float):
        return round(raw * 1_000_000)
    if isinstance(raw, str):
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            raise BadInput("bad_timestamp", raw[:40]) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    raise BadInput("bad_timestamp", type(raw).__name__)


class JsonDecoder:
    """Decodes the JSON messages of one source."""

    def __init__(
        self,
        machine: str,
        signals: Sequence[MqttSignalSpec],
        *,
        machine_level: int | None = None,
        timestamp_field: str | None = None,
    ) -> None:
        self.machine = machine
        self.machine_level = machine_level
        self.timestamp_path = tuple(timestamp_field.split(".")) if timestamp_field else None
        path = self.timestamp_path or ("",)
        self._timestamp = _Field("", path, _PLAIN, True, path[0] if len(path) == 1 else None)
        self.fields = tuple(
            _Field(
                s.name,
                tuple(s.field.split(".")),
                ValueMap(s.scale, s.offset, state_codes(s.states, signal=s.name)),
                s.states is None and s.scale == 1.0 and s.offset == 0.0,
                s.field if "." not in s.field else None,
            )
            for s in signals
        )
        self._bulk = _bulk_options(self.timestamp_path, self.fields)

    def machine_of(self, topic: str) -> str:
        if self.machine_level is None:
            return self.machine
        levels = topic.split("/")
        if self.machine_level >= len(levels):
            raise BadInput("bad_topic", f"{topic!r} has no level {self.machine_level}")
        return levels[self.machine_level]

    def clean(
        self, payload: bytes | bytearray, recv_ns: int, topic: Callable[[], str]
    ) -> tuple[int, str, list[float]] | None:
        """The common message, decoded without a Sample per value: (ts_ns, machine, values).

        Common means a JSON object carrying every signal, numbers finite, state strings in
        their map, an integer epoch-ms timestamp (if one is configured). Any other message
        gives None: :meth:`decode` then decodes it and names its problems, so both paths give
        the same samples by construction. ``topic()`` is asked for only with a machine level.
        """
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        if type(doc) is not dict:
            return None
        if self.machine_level is None:
            machine = self.machine
        else:
            try:
                levels = topic().split("/")
            except UnicodeDecodeError:
                return None
            if self.machine_level >= len(levels):
                return None
            machine = levels[self.machine_level]
        ts_ns = recv_ns
        if self.timestamp_path is not None:
            t = self._timestamp
            raw_ts = doc.get(t.key, _MISSING) if t.key is not None else _get(doc, t.path)
            if type(raw_ts) is not int or not -_MAX_EPOCH_MS <= raw_ts <= _MAX_EPOCH_MS:
                return None
            ts_ns = raw_ts * 1_000_000
        values: list[float] = []
        for f in self.fields:
            raw: Any = doc.get(f.key, _MISSING) if f.key is not None else _get(doc, f.path)
            kind = type(raw)
            states = f.values.states
            if states is not None:
                if kind is not str or raw not in states:
                    return None
                values.append(float(states[raw]))
                continue
            if kind is int:
                if not -_MAX_FLOAT_INT < raw < _MAX_FLOAT_INT:
                    return None
                value = float(raw)
            elif kind is float and math.isfinite(raw):
                value = raw
            else:
                return None
            values.append(value if f.plain else value * f.values.scale + f.values.offset)
        return ts_ns, machine, values

    def decode_burst(
        self,
        payloads: Sequence[bytes | bytearray],
        recv_ns: Sequence[int],
        topic_of: Callable[[int], str],
    ) -> tuple[SampleColumns | None, list[int]]:
        """Columns of the burst's clean messages, and the indices of the others (for
        :meth:`decode`, in order). The same samples as :meth:`decode` one message at a time."""
        n = len(payloads)
        bulk = self._read_bulk(payloads, recv_ns)
        ts: NDArray[np.int64] | list[int] = []
        machines: list[str] = []
        values: NDArray[np.float64] | list[float] = []
        if bulk is not None:
            ok, ts_all, values_all = bulk
            if self.machine_level is not None:
                for i in np.flatnonzero(ok).tolist():
                    try:
                        levels = topic_of(i).split("/")
                    except UnicodeDecodeError:
                        levels = []
                    if self.machine_level < len(levels):
                        machines.append(levels[self.machine_level])
                    else:
                        ok[i] = False
            ts, values = ts_all[ok], values_all[ok].ravel()
            others = np.flatnonzero(~ok).tolist()
        else:
            others = list(range(n))
        rest: list[int] = []
        more_ts: list[int] = []
        more_values: list[float] = []
        for i in others:
            got = self.clean(payloads[i], recv_ns[i], lambda i=i: topic_of(i))  # type: ignore[misc]
            if got is None:
                rest.append(i)
                continue
            more_ts.append(got[0])
            machines.append(got[1])
            more_values.extend(got[2])
        if more_ts:
            ts = np.concatenate([np.asarray(ts, np.int64), np.asarray(more_ts, np.int64)])
            values = np.concatenate([np.asarray(values, np.float64), more_values])
        if len(ts) == 0:
            return None, rest
        return self.columns(ts, machines, values), rest

    def _read_bulk(
        self, payloads: Sequence[bytes | bytearray], recv_ns: Sequence[int]
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.float64]] | None:
        """(clean?, ts_ns, values[n, fields]) for the burst, read as one newline-delimited JSON
        document; None when Arrow cannot read it as a whole (then message by message).

        Arrow's reader is laxer than JSON (and orjson, which decode() uses): it reads NaN and
        Infinity and passes invalid UTF-8 through, and it would read two objects from one
        payload; such bursts, and payloads that are not one line starting with ``{``, are left
        to clean() and decode(), so both paths give the same samples.
        """
        if self._bulk is None or not payloads:
            return None
        n = len(payloads)
        buf = b"\n".join(payloads)
        lines: list[int] | None = None  # None: every payload is a line
        if not (buf[:1] == b"{" and buf.count(b"\n") == n - 1 == buf.count(b"\n{")) or (
            b"\r" in buf
        ):
            lines = [i for i, p in enumerate(payloads) if p[:1] == b"{" and not _has_newline(p)]
            if not lines:
                return None
            buf = b"\n".join([payloads[i] for i in lines])
        if b"NaN" in buf or b"Infinity" in buf:
            return None
        try:
            buf.decode()
            table = pj.read_json(pa.py_buffer(buf), _BULK_READ, self._bulk)
        except (UnicodeDecodeError, pa.ArrowInvalid):
            return None
        m = table.num_rows
        if m != (n if lines is None else len(lines)):
            return None
        ok = np.ones(m, np.bool_)
        values = np.empty((m, len(self.fields)), np.float64)
        for j, f in enumerate(self.fields):
            column = _column(table, f.path)
            states = f.values.states
            if states is None:
                raw = column.to_numpy()  # nulls (missing, null) read as NaN
                ok &= np.abs(raw) < _MAX_FLOAT_INT  # False for NaN too
                values[:, j] = raw if f.plain else raw * f.values.scale + f.values.offset
            else:
                keys = list(states)
                found = pc.index_in(column, value_set=pa.array(keys, pa.string()))
                ok &= found.is_valid().to_numpy()
                codes = np.array([states[k] for k in keys], np.float64)
                values[:, j] = codes[pc.fill_null(found, 0).to_numpy()]
        if self.timestamp_path is None:
            ts = np.asarray(recv_ns, np.int64)
            ts = ts if lines is None else ts[lines]
        else:
            column = _column(table, self.timestamp_path)
            ts = pc.fill_null(column, 0).to_numpy()
            ok &= column.is_valid().to_numpy() & (np.abs(ts) <= _MAX_EPOCH_MS)
            ts = ts * 1_000_000
        if lines is None:
            return ok, ts, values
        every_ok = np.zeros(n, np.bool_)
        every_ts = np.zeros(n, np.int64)
        every_values = np.zeros((n, len(self.fields)), np.float64)
        every_ok[lines], every_ts[lines], every_values[lines] = ok, ts, values
        return every_ok, every_ts, every_values

    def columns(
        self,
        ts_ns: Sequence[int] | NDArray[np.int64],
        machines: Sequence[str],
        values: Sequence[float] | NDArray[np.float64],
    ) -> SampleColumns:
        """Messages gathered from :meth:`clean` (``values`` flat, every signal per message)."""
        n, fields = len(ts_ns), len(self.fields)
        if self.machine_level is None:
            names = [self.machine]
            machine_idx = np.zeros(n, np.int32)
        else:
            index: dict[str, int] = {}
            machine_idx = np.fromiter(
                (index.setdefault(m, len(index)) for m in machines), np.int32, n
            )
            names = list(index)
        return SampleColumns(
            np.repeat(np.array(ts_ns, np.int64), fields),
            names,
            np.repeat(machine_idx, fields),
            [f.signal for f in self.fields],
            np.tile(np.arange(fields, dtype=np.int32), n),
            np.array(values, np.float64),
        )

    def decode(
        self, topic: str, payload: bytes | bytearray, recv_ns: int, out: list[Sample]
    ) -> list[BadInput]:
        """Append this message's samples to ``out``; returns per-field problems."""
        # Hot path (one call per message): orjson parses ~2.5x faster than the json module, and
        # plain numeric fields skip the generic conversion.
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:  # also invalid UTF-8
            raise BadInput("malformed_json", f"{topic}: {exc}") from None
        if type(doc) is not dict:
            raise BadInput("not_object", f"{topic}: {type(doc).__name__}")
        machine = self.machine if self.machine_level is None else self.machine_of(topic)
        ts_ns = recv_ns
        if self.timestamp_path is not None:
            raw_ts = _get(doc, self.timestamp_path)
            if type(raw_ts) is int:
                ts_ns = raw_ts * 1_000_000
            elif raw_ts is not _MISSING:
                ts_ns = parse_timestamp_ns(raw_ts)
        bad: list[BadInput] = []
        found = 0
        for f in self.fields:
            raw: Any = doc.get(f.key, _MISSING) if f.key is not None else _get(doc, f.path)
            if raw is _MISSING:
                continue
            found += 1
            kind = type(raw)
            if f.plain and (
                (kind is int and -_MAX_FLOAT_INT < raw < _MAX_FLOAT_INT)
                or (kind is float and math.isfinite(raw))
            ):
                out.append(_new(Sample, (ts_ns, machine, f.signal, float(raw))))
                continue
            states = f.values.states
            if states is not None and kind is str and raw in states:
                out.append(_new(Sample, (ts_ns, machine, f.signal, float(states[raw]))))
                continue
            try:
                out.append(Sample(ts_ns, machine, f.signal, f.values.convert(raw)))
            except UnmappedState as exc:
                bad.append(exc)
                out.append(Sample(ts_ns, machine, f.signal, 0.0))
            except BadInput as exc:
                bad.append(BadInput(exc.reason, f"{topic} {'.'.join(f.path)}: {exc.detail}"))
        if not found:
            raise BadInput("no_known_fields", topic)
        return bad


def _has_newline(payload: bytes | bytearray) -> bool:
    return b"\n" in payload or b"\r" in payload


def _column(table: pa.Table, path: tuple[str, ...]) -> pa.ChunkedArray:
    column = table.column(path[0])
    for key in path[1:]:
        column = pc.struct_field(column, key)  # null where the parent object is missing
    return column


def _get(doc: dict[str, Any], path: tuple[str, ...]) -> object:
    node: Any = doc
    try:
        for key in path:
            node = node[key]
    except (KeyError, TypeError, IndexError):
        return _MISSING
    return node
