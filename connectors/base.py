"""The seam between protocols and the gateway: samples, batches, the connector interface.

A connector is an async context manager (``__aenter__`` connects, ``__aexit__`` closes) with one
async iterator of :class:`Batch` es. A batch is acknowledged (``batch.ack()``) by the consumer
once its samples are durably stored; for MQTT that releases the broker's QoS 1 message, for
polling protocols it is a no-op. Timestamps are UTC nanoseconds.

Helpers shared by every connector live next door: ``backoff`` (capped exponential backoff with
full jitter), ``values`` (raw value -> float, state mapping, scale/offset), ``health`` (bad-input
counters, status), ``runtime`` (the supervised session loop and the bounded batch queue).

Error tree::

    ConnectorError
    ├── ConnectError          could not connect / connection lost (retried with backoff)
    ├── ConfigurationError    a spec that can never work (unknown type, bad address)
    ├── WriteError            a downlink write failed (reported to the caller, never dropped)
    │   └── WriteNotSupported the source has no write path for that signal
    └── BadInput              one message/value that cannot be used; counted by ``reason`` and
                              skipped, never stops a connector
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, Self, overload, runtime_checkable

import numpy as np
from numpy.typing import NDArray


class Sample(NamedTuple):
    """One value of one signal of one machine. ``ts_ns``: UTC nanoseconds (source time if any).

    A NamedTuple rather than a frozen dataclass: one is built per value on the ingest hot path,
    and a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs ~2.4x more.
    """

    ts_ns: int
    machine: str
    signal: str
    value: float


class SampleColumns(Sequence[Sample]):
    """Samples held as columns, machine and signal names dictionary-encoded.

    What a bulk decoder builds (MQTT JSON: a burst of messages at once) and what the store
    appends as they are (DuckDB scans the arrays), with no Python object per value on the way.
    It reads as a sequence of :class:`Sample` (built on access) wherever a batch is looked at
    value by value.
    """

    __slots__ = ("machine_idx", "machines", "signal_idx", "signals", "ts_ns", "value")

    def __init__(
        self,
        ts_ns: NDArray[np.int64],
        machines: Sequence[str],
        machine_idx: NDArray[np.int32],
        signals: Sequence[str],
        signal_idx: NDArray[np.int32],
        value: NDArray[np.float64],
    ) -> None:
        if not (ts_ns.size == machine_idx.size == signal_idx.size == value.size):
            raise ValueError("SampleColumns: columns of different lengths")
        self.ts_ns = ts_ns
        self.machines = tuple(machines)
        self.machine_idx = machine_idx
        self.signals = tuple(signals)
        self.signal_idx = signal_idx
        self.value = value

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> SampleColumns:
        """Columns of sample tuples (what the polling connectors produce)."""
        rows = list(samples)
        machines: dict[str, int] = {}
        signals: dict[str, int] = {}
        n = len(rows)
        machine_idx = np.fromiter(
            (machines.setdefault(s.machine, len(machines)) for s in rows), np.int32, n
        )
        signal_idx = np.fromiter(
            (signals.setdefault(s.signal, len(signals)) for s in rows), np.int32, n
        )
        return cls(
            np.fromiter((s.ts_ns for s in rows), np.int64, n),
            tuple(machines),
            machine_idx,
            tuple(signals),
            signal_idx,
            np.fromiter((s.value for s in rows), np.float64, n),
        )

    @classmethod
    def concat(cls, parts: Sequence[SampleColumns]) -> SampleColumns:
        """One set of columns holding every part in order; names are merged, not repeated."""
        if len(parts) == 1:
            return parts[0]
        machines: dict[str, int] = {}
        signals: dict[str, int] = {}

        def recode(
            names: Sequence[str], idx: NDArray[np.int32], codes: dict[str, int]
        ) -> NDArray[np.int32]:
            new = np.fromiter((codes.setdefault(n, len(codes)) for n in names), np.int32)
            return new[idx] if new.size else idx.astype(np.int32)

        machine_idx = [recode(p.machines, p.machine_idx, machines) for p in parts]
        signal_idx = [recode(p.signals, p.signal_idx, signals) for p in parts]
        return cls(
            np.concatenate([p.ts_ns for p in parts] or [np.empty(0, np.int64)]),
            tuple(machines),
            np.concatenate(machine_idx or [np.empty(0, np.int32)]),
            tuple(signals),
            np.concatenate(signal_idx or [np.empty(0, np.int32)]),
            np.concatenate([p.value for p in parts] or [np.empty(0, np.float64)]),
        )

    def __len__(self) -> int:
        return int(self.value.size)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Sample, ...]: ...

    def __getitem__(self, index: int | slice) -> Sample | tuple[Sample, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        i = range(len(self))[index]  # IndexError and negative indices as for a tuple
        return Sample(
            int(self.ts_ns[i]),
            self.machines[self.machine_idx[i]],
            self.signals[self.signal_idx[i]],
            float(self.value[i]),
        )

    def __iter__(self) -> Iterator[Sample]:
        machines, signals = self.machines, self.signals
        for ts, m, s, v in zip(
            self.ts_ns.tolist(),
            self.machine_idx.tolist(),
            self.signal_idx.tolist(),
            self.value.tolist(),
            strict=True,
        ):
            yield Sample(ts, machines[m], signals[s], v)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    def __repr__(self) -> str:
        return f"SampleColumns({len(self)} samples)"


class MachineState(enum.IntEnum):
    """Canonical machine states. ``state`` samples carry these codes after mapping."""

    unknown = 0
    running = 1
    idle = 2
    stopped = 3
    fault = 4
    setup = 5
    planned_stop = 6
    offline = 7


class ConnectionState(enum.Enum):
    """Lifecycle of a connector, reported on ``/health``."""

    idle = "idle"
    connecting = "connecting"
    connected = "connected"
    reconnecting = "reconnecting"
    failed = "failed"
    closed = "closed"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A snapshot of one connector for ``/health`` and ``/metrics``.

    ``connected_since_ns`` and ``last_sample_ns`` are UTC nanoseconds (None before the first);
    ``errors`` counts bad input and connection failures by reason since start.
    """

    name: str
    state: ConnectionState
    last_error: str | None = None
    connected_since_ns: int | None = None
    last_sample_ns: int | None = None
    samples: int = 0
    errors: Mapping[str, int] = field(default_factory=dict)


def _no_ack() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Batch:
    """Samples delivered together; call ``ack()`` once they are committed to storage."""

    samples: tuple[Sample, ...] | SampleColumns
    ack: Callable[[], None] = field(default=_no_ack)


class ConnectorError(Exception):
    """Base of every error a connector raises."""


class ConnectError(ConnectorError):
    """Could not connect, or the connection was lost."""


class ConfigurationError(ConnectorError):
    """A spec that can never work (unknown data type, address out of range, ...)."""


class WriteError(ConnectorError):
    """A downlink write failed."""


class WriteNotSupported(WriteError):
    """The source has no write path for this signal."""


class BadInput(ConnectorError):
    """One unusable message or value; ``reason`` is a short stable key (e.g. ``malformed_json``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@runtime_checkable
class Connector(Protocol):
    """What the edge runtime needs from a protocol adapter."""

    name: str

    @property
    def state(self) -> ConnectionState: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    @property
    def status(self) -> SourceStatus: ...

    def batches(self) -> AsyncIterator[Batch]: ...

    async def write(self, signal: str, value: float | str) -> None: ...
