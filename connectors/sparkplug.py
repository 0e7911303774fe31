"""Sparkplug B 3.0 host-side decoding: births, aliases, sequence numbers, deaths. Pure.

Topics are ``spBv1.0/<group>/<type>/<node>[/<device>]``. NBIRTH resets the node's ``seq`` and
alias table (and records ``bdSeq``); DBIRTH adds a device's aliases; NDATA/DDATA resolve metric
aliases to names. A seq gap, an unknown alias or data from a node never born → the node is
marked for a rebirth request (NCMD ``Node Control/Rebirth`` = true). NDEATH (with the bdSeq of
the current birth) and DDEATH → ``state`` = offline samples for the machines concerned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from connectors import sparkplug_b_pb2 as pb
from connectors.base import BadInput, MachineState, Sample
from connectors.values import UnmappedState, ValueMap

REBIRTH_METRIC = "Node Control/Rebirth"
BOOLEAN = 11
_SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8..Int64 travel as unsigned two's complement


def rebirth_request(group: str, node: str, now_ms: int) -> tuple[str, bytes]:
    """Topic and payload of an NCMD asking ``node`` to publish its births again."""
    payload = pb.Payload(timestamp=now_ms)
    metric = payload.metrics.add()
    metric.name = REBIRTH_METRIC
    metric.datatype = BOOLEAN
    metric.timestamp = now_ms
    metric.boolean_value = True
    return f"spBv1.0/{group}/NCMD/{node}", payload.SerializeToString()


def metric_value(metric: pb.Payload.Metric) -> object:
    """The Python value of a metric (signed integer types restored from two's complement)."""
    if metric.is_null:
        raise BadInput("null_value", metric.name)
    kind = metric.WhichOneof("value")
    if kind is None:
        raise BadInput("null_value", metric.name)
    value = getattr(metric, kind)
    bits = _SIGNED_BITS.get(metric.datatype)
    if bits is not None and isinstance(value, int) and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


@dataclass(slots=True)
class _Node:
    bd_seq: int | None = None
    seq: int | None = None
    aliases: dict[tuple[str, int], str] = field(default_factory=dict)  # (device, alias) -> name
    machines: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Decoded:
    samples: list[Sample] = field(default_factory=list)
    bad: list[BadInput] = field(default_factory=list)
    rebirth: tuple[str, str] | None = None  # (group, node) to ask for a rebirth


class SparkplugDecoder:
    """Tracks every node seen on the source's topics; ``decode`` one message at a time."""

    def __init__(
        self, machine: str, metrics: Mapping[str, tuple[str, ValueMap]], machine_level: int | None
    ) -> None:
        self.machine = machine
        self.metrics = metrics  # metric name -> (signal, value map)
        self.machine_level = machine_level
        self.nodes: dict[tuple[str, str], _Node] = {}

    def decode(self, topic: str, payload: bytes | bytearray, recv_ns: int) -> Decoded:
        levels = topic.split("/")
        if len(levels) < 4 or levels[0] != "spBv1.0":
            raise BadInput("bad_topic", topic)
        group, kind, node_id = levels[1], levels[2], levels[3]
        device = levels[4] if len(levels) > 4 else ""
        if kind in ("NCMD", "DCMD", "STATE"):
            return Decoded()
        try:
            message = pb.Payload.FromString(payload)
        except DecodeError as exc:
            raise BadInput("malformed_protobuf", f"{topic}: {exc}") from None
        machine = self._machine(levels, device or node_id)
        out = Decoded()
        node = self.nodes.setdefault((group, node_id), _Node())
        if kind == "NBIRTH":
            node.seq, node.aliases = message.seq, {}
            node.bd_seq = _bd_seq(message)
        elif kind in ("NDEATH", "DDEATH"):
            self._death(kind, node, message, machine, recv_ns, out)
            return out
        elif node.seq is None:
            out.rebirth = (group, node_id)
            out.bad.append(BadInput("unknown_node", f"{topic}: data before birth"))
            return out
        elif message.HasField("seq"):
            expected = (node.seq + 1) % 256
            if message.seq != expected:
                out.rebirth = (group, node_id)
                out.bad.append(
                    BadInput("seq_gap", f"{topic}: seq {message.seq}, expected {expected}")
                )
            node.seq = message.seq
        self._metrics(kind, device, node, message, machine, recv_ns, out, (group, node_id))
        return out

    def _machine(self, levels: list[str], default: str) -> str:
        if self.machine_level is None:
            return self.machine
        if self.machine_level < len(levels):
            return levels[self.machine_level]
        return default

    def _metrics(
        self,
        kind: str,
        device: str,
        node: _Node,
        message: pb.Payload,
        machine: str,
        recv_ns: int,
        out: Decoded,
        node_key: tuple[str, str],
    ) -> None:
        birth = kind.endswith("BIRTH")
        before = len(out.samples)
        default_ts = message.timestamp * 1_000_000 if message.HasField("timestamp") else recv_ns
        for metric in message.metrics:
            name = metric.name
            if birth and metric.HasField("alias"):
                node.aliases[(device, metric.alias)] = name
            elif not name and metric.HasField("alias"):
                name = node.aliases.get((device, metric.alias), "")
                if not name:
                    out.bad.append(BadInput("unknown_alias", f"alias {metric.alias}"))
                    out.rebirth = node_key
                    continue
            target = self.metrics.get(name)
            if target is None:
                continue
            signal, values = target
            ts = metric.timestamp * 1_000_000 if metric.HasField("timestamp") else default_ts
            try:
                out.samples.append(
                    Sample(ts, machine, signal, values.convert(metric_value(metric)))
                )
            except UnmappedState as exc:
                out.bad.append(exc)
                out.samples.append(Sample(ts, machine, signal, 0.0))
            except BadInput as exc:
                out.bad.append(exc)
        if len(out.samples) > before:
            node.machines.add(machine)  # the machines this node speaks for go offline with it

    def _death(
        self, kind: str, node: _Node, message: pb.Payload, machine: str, recv_ns: int, out: Decoded
    ) -> None:
        if kind == "NDEATH":
            bd_seq = _bd_seq(message)
            if node.bd_seq is not None and bd_seq is not None and bd_seq != node.bd_seq:
                return  # the will of an older session: the node is already back
            machines = node.machines or {machine}
            node.seq = None
        else:
            machines = {machine}
        offline = float(MachineState.offline)
        out.samples.extend(Sample(recv_ns, m, "state", offline) for m in sorted(machines))


def _bd_seq(message: pb.Payload) -> int | None:
    for metric in message.metrics:
        if metric.name == "bdSeq":
            value = metric_value(metric)
            return int(value) if isinstance(value, int) else None
    return None
