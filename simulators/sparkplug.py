"""Sparkplug B 3.0 encoder for the simulated MQTT edge node (pure: no I/O, explicit times).

One node (``group``/``node``) with one device per machine. NBIRTH carries ``bdSeq`` and
``Node Control/Rebirth`` and resets ``seq`` to 0; every later message of the node takes the next
``seq`` (0-255, wrapping). DBIRTH declares each metric with name, alias and datatype; DDATA
sends changed metrics by alias only. The NDEATH will carries the same ``bdSeq`` as the NBIRTH.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulators.sparkplug_proto import BOOLEAN, INT32, STRING, UINT64, Payload

NAMESPACE = "spBv1.0"

#: Device metrics: name -> (alias, datatype).
METRICS: Mapping[str, tuple[int, int]] = {
    "count": (1, UINT64),
    "reject": (2, UINT64),
    "good": (3, UINT64),
    "state": (4, INT32),
    "order": (5, STRING),
    "target": (6, UINT64),
}

MetricValue = int | str


def _set_value(metric: Any, datatype: int, value: MetricValue | bool) -> None:
    if datatype == STRING:
        metric.string_value = str(value)
    elif datatype == BOOLEAN:
        metric.boolean_value = bool(value)
    elif datatype == INT32:
        metric.int_value = int(value) & 0xFFFFFFFF  # two's complement, as Tahu does
    else:
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF


class SparkplugNode:
    """Builds the topics and payloads of one edge node; tracks ``seq`` and ``bdSeq``."""

    def __init__(self, group: str, node: str) -> None:
        self.group, self.node = group, node
        self.bd_seq = 0
        self._seq = 0
        self._last: dict[str, dict[str, MetricValue]] = {}

    def topic(self, kind: str, device: str | None = None) -> str:
        base = f"{NAMESPACE}/{self.group}/{kind}/{self.node}"
        return f"{base}/{device}" if device else base

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) % 256
        return seq

    def death(self) -> bytes:
        """NDEATH will payload of the current connection (no seq, per the spec)."""
        payload = Payload()
        metric = payload.metrics.add(name="bdSeq", datatype=UINT64)
        _set_value(metric, UINT64, self.bd_seq)
        return bytes(payload.SerializeToString())

    def node_birth(self, ts_ms: int) -> bytes:
        self._seq = 0
        self._last = {}
        payload = Payload(timestamp=ts_ms, seq=self._next_seq())
        bd = payload.metrics.add(name="bdSeq", datatype=UINT64, timestamp=ts_ms)
        _set_value(bd, UINT64, self.bd_seq)
        rebirth = payload.metrics.add(name="Node Control/Rebirth", datatype=BOOLEAN)
        _set_value(rebirth, BOOLEAN, False)
        return bytes(payload.SerializeToString())

    def next_connection(self) -> None:
        """A new MQTT session: the next NBIRTH/NDEATH pair uses the next ``bdSeq``."""
        self.bd_seq = (self.bd_seq + 1) % 256

    def device_birth(self, device: str, values: Mapping[str, MetricValue], ts_ms: int) -> bytes:
        payload = Payload(timestamp=ts_ms, seq=self._next_seq())
        for name, (alias, datatype) in METRICS.items():
            metric = payload.metrics.add(name=name, alias=alias, datatype=datatype, timestamp=ts_ms)
            _set_value(metric, datatype, values[name])
        self._last[device] = dict(values)
        return bytes(payload.SerializeToString())

    def device_data(
        self, device: str, values: Mapping[str, MetricValue], ts_ms: int
    ) -> bytes | None:
        """DDATA with the metrics that changed since the last message (None if none did)."""
        last = self._last.get(device, {})
        changed = [n for n in METRICS if last.get(n) != values[n]]
        if not changed:
            return None
        payload = Payload(timestamp=ts_ms, seq=self._next_seq())
        for name in changed:
            alias, datatype = METRICS[name]
            metric = payload.metrics.add(alias=alias, timestamp=ts_ms)
            _set_value(metric, datatype, values[name])
        self._last[device] = dict(values)
        return bytes(payload.SerializeToString())

    @staticmethod
    def is_rebirth_request(data: bytes) -> bool:
        """True when an NCMD payload asks for ``Node Control/Rebirth``."""
        payload = Payload.FromString(data)
        return any(m.name == "Node Control/Rebirth" and m.boolean_value for m in payload.metrics)
