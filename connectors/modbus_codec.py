"""Modbus register codec: typed values <-> 16-bit registers, every word order. Pure.

Bytes of a value are named A (most significant) .. D. ``word_order`` says which register comes
first (big: the most significant word, "ABCD"; little: the least, "CDAB"); ``byte_swap`` swaps
the two bytes inside each register ("BADC"; with little: "DCBA"). 64-bit values follow the same
rule over four registers. Checked against the vectors of ``reference/protocols.md``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from connectors.base import ConfigurationError

# struct format (big-endian) and register count of each type
_FORMATS: dict[str, tuple[str, int]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "int64": (">q", 4),
    "float32": (">f", 2),
    "float64": (">d", 4),
}


def register_count(data_type: str) -> int:
    """Registers (or bits, for ``bool``) one value of ``data_type`` occupies."""
    if data_type == "bool":
        return 1
    try:
        return _FORMATS[data_type][1]
    except KeyError:
        raise ConfigurationError(f"unknown Modbus data type {data_type!r}") from None


def _to_big_endian(regs: Sequence[int], word_order: str, byte_swap: bool) -> bytes:
    words = list(regs) if word_order == "big" else list(reversed(regs))
    if byte_swap:
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return struct.pack(f">{len(words)}H", *words)


def _from_big_endian(raw: bytes, word_order: str, byte_swap: bool) -> list[int]:
    words = list(struct.unpack(f">{len(raw) // 2}H", raw))
    if byte_swap:
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words if word_order == "big" else list(reversed(words))


def decode(
    regs: Sequence[int], data_type: str, word_order: str = "big", byte_swap: bool = False
) -> int | float:
    """Registers (exactly ``register_count(data_type)`` of them) -> value."""
    fmt, n = _FORMATS[data_type]
    if len(regs) != n:
        raise ValueError(f"{data_type} needs {n} registers, got {len(regs)}")
    value: int | float = struct.unpack(fmt, _to_big_endian(regs, word_order, byte_swap))[0]
    return value


def encode(
    value: int | float, data_type: str, word_order: str = "big", byte_swap: bool = False
) -> list[int]:
    """Value -> registers; integers must fit the type (``struct.error`` -> ValueError)."""
    fmt, _ = _FORMATS[data_type]
    if fmt[-1] in "hHiIq":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not an integer for {data_type}")
        value = int(value)
    try:
        raw = struct.pack(fmt, value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {data_type}: {exc}") from None
    return _from_big_endian(raw, word_order, byte_swap)


def decoder(data_type: str, word_order: str, byte_swap: bool) -> tuple[struct.Struct, bool]:
    """A precompiled decoder for the hot path: ``(struct, needs_reorder)``.

    When ``needs_reorder`` is False the value can be unpacked straight from the big-endian
    bytes of the register block (``struct.unpack_from(block, 2 * offset)``).
    """
    fmt, n = _FORMATS[data_type]
    reorder = byte_swap or (word_order == "little" and n > 1)
    return struct.Struct(fmt), reorder
