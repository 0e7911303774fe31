"""Which Modbus requests read a source's signals, and how to cut values out of the replies. Pure.

Signals of one table are sorted by address and merged into requests while the span stays within
the protocol limit (125 registers for function 3/4, 2000 bits for 1/2) and gaps are at most
``max_gap``. Each request carries precompiled slots, so a poll decodes a block with one
``struct.pack`` and one ``unpack_from`` per signal.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from connectors.base import BadInput, ConfigurationError, Sample
from connectors.modbus_codec import decode, decoder, register_count
from connectors.specs import ModbusSignalSpec
from connectors.values import ValueMap, state_codes

MAX_REGISTERS = 125
MAX_BITS = 2000
BIT_TABLES = ("coil", "discrete")


@dataclass(frozen=True, slots=True)
class Slot:
    """One signal inside a request: ``offset`` registers/bits from the request start."""

    signal: str
    offset: int
    count: int
    data_type: str
    word_order: str
    byte_swap: bool
    unpacker: struct.Struct
    reorder: bool
    values: ValueMap
    plain: bool  # numeric, scale 1, offset 0: the decoded number is the sample value


@dataclass(frozen=True, slots=True)
class ReadRequest:
    table: str
    address: int
    count: int
    slots: tuple[Slot, ...]
    # When every slot is a plain big-endian integer: one struct for the whole block (gaps as
    # pad bytes), so a poll decodes with a single unpack call.
    block: struct.Struct | None = None


def _slot(spec: ModbusSignalSpec, start: int) -> Slot:
    if spec.table in BIT_TABLES and spec.type != "bool":
        raise ConfigurationError(
            f"signal {spec.name!r}: table {spec.table} holds bits, not {spec.type}"
        )
    unpacker, reorder = (
        decoder("uint16", "big", False)
        if spec.type == "bool"
        else decoder(spec.type, spec.word_order, spec.byte_swap)
    )
    return Slot(
        signal=spec.name,
        offset=spec.address - start,
        count=register_count(spec.type),
        data_type=spec.type,
        word_order=spec.word_order,
        byte_swap=spec.byte_swap,
        unpacker=unpacker,
        reorder=reorder,
        values=ValueMap(spec.scale, spec.offset, state_codes(spec.states, signal=spec.name)),
        plain=spec.states is None and spec.scale == 1.0 and spec.offset == 0.0,
    )


def plan_reads(signals: Sequence[ModbusSignalSpec], max_gap: int = 0) -> tuple[ReadRequest, ...]:
    """Group signals into as few requests as the limits allow."""
    requests: list[ReadRequest] = []
    for table in ("holding", "input", "coil", "discrete"):
        specs = sorted((s for s in signals if s.table == table), key=lambda s: s.address)
        limit = MAX_BITS if table in BIT_TABLES else MAX_REGISTERS
        group: list[ModbusSignalSpec] = []
        for spec in specs:
            end = spec.address + register_count(spec.type)
            if end > 65536:
                raise ConfigurationError(
                    f"signal {spec.name!r}: address {spec.address} out of range"
                )
            if group:
                start = group[0].address
                group_end = max(g.address + register_count(g.type) for g in group)
                if spec.address - group_end > max_gap or end - start > limit:
                    requests.append(_request(table, group))
                    group = []
            group.append(spec)
        if group:
            requests.append(_request(table, group))
    return tuple(requests)


def _request(table: str, group: list[ModbusSignalSpec]) -> ReadRequest:
    start = group[0].address
    end = max(g.address + register_count(g.type) for g in group)
    slots = tuple(_slot(g, start) for g in group)
    return ReadRequest(table, start, end - start, slots, _block_struct(table, slots))


def _block_struct(table: str, slots: tuple[Slot, ...]) -> struct.Struct | None:
    if table in BIT_TABLES:
        return None
    fmt, cursor = ">", 0
    for slot in slots:
        integer = slot.data_type not in ("bool", "float32", "float64")
        if not (slot.plain and integer and not slot.reorder) or slot.offset < cursor:
            return None
        fmt += "x" * (2 * (slot.offset - cursor)) + slot.unpacker.format[1:]
        cursor = slot.offset + slot.count
    return struct.Struct(fmt)


def decode_registers(
    request: ReadRequest, registers: Sequence[int], ts_ns: int, machine: str, out: list[Sample]
) -> list[BadInput]:
    """Append one sample per slot to ``out``; returns the bad values met (others still decode)."""
    block = struct.pack(f">{len(registers)}H", *registers)
    if request.block is not None:  # hot path: plain integers only
        values = request.block.unpack_from(block)
        out.extend(
            [
                Sample(ts_ns, machine, s.signal, float(v))
                for s, v in zip(request.slots, values, strict=True)
            ]
        )
        return []
    bad: list[BadInput] = []
    for slot in request.slots:
        if (
            slot.plain
            and not slot.reorder
            and slot.data_type[0] != "f"
            and slot.data_type != "bool"
        ):
            # hot path: an integer straight from the block (floats may be NaN: checked below)
            value = slot.unpacker.unpack_from(block, 2 * slot.offset)[0]
            out.append(Sample(ts_ns, machine, slot.signal, float(value)))
            continue
        try:
            if slot.data_type == "bool":
                raw: object = registers[slot.offset] != 0
            elif slot.reorder:
                regs = registers[slot.offset : slot.offset + slot.count]
                raw = decode(regs, slot.data_type, slot.word_order, slot.byte_swap)
            else:
                raw = slot.unpacker.unpack_from(block, 2 * slot.offset)[0]
            out.append(Sample(ts_ns, machine, slot.signal, slot.values.convert(raw)))
        except BadInput as exc:
            bad.append(exc)
            if exc.reason == "unmapped_state":
                out.append(Sample(ts_ns, machine, slot.signal, 0.0))
    return bad


def decode_bits(
    request: ReadRequest, bits: Sequence[bool], ts_ns: int, machine: str, out: list[Sample]
) -> list[BadInput]:
    bad: list[BadInput] = []
    for slot in request.slots:
        try:
            out.append(
                Sample(ts_ns, machine, slot.signal, slot.values.convert(bool(bits[slot.offset])))
            )
        except BadInput as exc:
            bad.append(exc)
            if exc.reason == "unmapped_state":
                out.append(Sample(ts_ns, machine, slot.signal, 0.0))
    return bad
