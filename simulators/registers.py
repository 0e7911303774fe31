"""Modbus register codec for the simulated PLC: values <-> 16-bit words in a given word order.

Byte names follow reference/protocols.md: A is the most significant byte. ABCD big-endian,
CDAB word swap, BADC byte swap, DCBA little-endian. Integers wrap to the register width, as a
PLC counter does.
"""

from __future__ import annotations

import struct

from simulators.layout import Register, RegisterType, WordOrder

_PACK: dict[RegisterType, str] = {
    "uint16": ">H",
    "int16": ">h",
    "uint32": ">I",
    "int32": ">i",
    "float32": ">f",
}
_BITS = {"uint16": 16, "int16": 16, "uint32": 32, "int32": 32}


def _wrap(value: float, kind: RegisterType) -> int | float:
    if kind == "float32":
        return float(value)
    bits = _BITS[kind]
    raw = int(value) % (1 << bits)
    if kind.startswith("int") and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return raw


def _reorder(data: bytes, order: WordOrder) -> bytes:
    if len(data) == 2 or order == "ABCD":
        return data if order in ("ABCD", "CDAB") or len(data) != 2 else data[::-1]
    a, b, c, d = data
    return {
        "CDAB": bytes((c, d, a, b)),
        "BADC": bytes((b, a, d, c)),
        "DCBA": bytes((d, c, b, a)),
    }[order]


def encode(value: float, kind: RegisterType, order: WordOrder = "ABCD") -> list[int]:
    """Words for one value (a 16-bit value with BADC/DCBA has its two bytes swapped)."""
    data = _reorder(struct.pack(_PACK[kind], _wrap(value, kind)), order)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def decode(words: list[int], kind: RegisterType, order: WordOrder = "ABCD") -> int | float:
    """Inverse of ``encode`` (the reorders are their own inverse)."""
    data = _reorder(b"".join(w.to_bytes(2, "big") for w in words), order)
    value: int | float = struct.unpack(_PACK[kind], data)[0]
    return value


def encode_register(value: float, register: Register) -> list[int]:
    return encode(value, register.type, register.word_order)


def decode_register(words: list[int], register: Register) -> int | float:
    return decode(words, register.type, register.word_order)
