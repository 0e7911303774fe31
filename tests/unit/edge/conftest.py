"""Builders shared by the edge runtime tests: a config and in-memory sources."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from connectors.base import Connector, Sample, SampleColumns
from connectors.memory import MemoryConnector
from connectors.specs import MemorySourceSpec
from edge.config import EdgeConfig, parse_config

NS = 1_000_000_000


def sample_columns(
    ts_ns: Sequence[int],
    machine: str | Sequence[str],
    signal: str | Sequence[str],
    value: Sequence[float],
) -> SampleColumns:
    """Columns for ``Store.append_samples``; a single machine or signal name applies to all."""
    n = len(ts_ns)

    def names(name: str | Sequence[str]) -> Sequence[str]:
        return [name] * n if isinstance(name, str) else name

    return SampleColumns.from_samples(map(Sample, ts_ns, names(machine), names(signal), value))


def edge_config(
    data_dir: Path, machines: tuple[str, ...] = ("m1", "m2"), **edge: Any
) -> EdgeConfig:
    return parse_config(
        {
            "edge": {"id": "test-edge", "data_dir": str(data_dir), "timezone": "UTC", **edge},
            "shifts": [{"name": "day", "start": "00:00", "end": "00:00"}],
            "machines": [
                {
                    "id": m,
                    "ideal_cycle_s": 1.0,
                    "stop_threshold_s": 60,
                    "source": {
                        "protocol": "mqtt",
                        "url": "mqtt://127.0.0.1:1",
                        "topic": f"t/{m}",
                        "signals": {
                            "count": {"field": "c"},
                            "reject": {"field": "r"},
                            "state": {"field": "s"},
                        },
                    },
                }
                for m in machines
            ],
        }
    )


def midday_zone(now_ns: int) -> str:
    """A fixed-offset zone where ``now_ns`` falls near noon: the "day" shift (and the local
    day) then started hours ago, whatever time of day the suite runs (at 00:05 UTC, data from
    ten minutes ago lies in the previous UTC day)."""
    utc_hour = now_ns // (3600 * NS) % 24
    offset = (12 - utc_hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: GMT-2 is UTC+2


class MemorySources:
    """Factories for the agent; ``current[name]`` is the live connector of each source."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.current: dict[str, MemoryConnector] = {}
        self.built: dict[str, int] = dict.fromkeys(names, 0)
        self.names = names

    def factories(self) -> dict[str, Callable[[], Connector]]:
        return {name: (lambda name=name: self._build(name)) for name in self.names}

    def _build(self, name: str) -> Connector:
        conn = MemoryConnector(MemorySourceSpec(machine=name, signals=("count", "reject", "state")))
        self.current[name] = conn
        self.built[name] += 1
        return conn


def counter_samples(
    machine: str, start_s: int, values: list[int], *, signal: str = "count", t0_ns: int
) -> list[Sample]:
    return [
        Sample(t0_ns + (start_s + i) * NS, machine, signal, float(v)) for i, v in enumerate(values)
    ]


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait until ``predicate()`` holds (a state reached by other tasks), or time out."""
    async with asyncio.timeout(timeout_s):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)
