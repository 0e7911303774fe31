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
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, Self, runtime_checkable


class Sample(NamedTuple):
    """One value of one signal of one machine. ``ts_ns``: UTC nanoseconds (source time if any).

    A NamedTuple rather than a frozen dataclass: one is built per value on the ingest hot path,
    and a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs ~2.4x more.
    """

    ts_ns: int
    machine: str
    signal: str
    value: float


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

    samples: tuple[Sample, ...]
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
