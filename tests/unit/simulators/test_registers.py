"""Register codec against the reference vectors of reference/protocols.md."""

from __future__ import annotations

import pytest

from simulators.registers import decode, encode

VECTORS = [
    (123456.0, "float32", "ABCD", [0x47F1, 0x2000]),
    (123456.0, "float32", "CDAB", [0x2000, 0x47F1]),
    (123456.0, "float32", "BADC", [0xF147, 0x0020]),
    (123456.0, "float32", "DCBA", [0x0020, 0xF147]),
    (123.45, "float32", "ABCD", [0x42F6, 0xE666]),
    (123.45, "float32", "CDAB", [0xE666, 0x42F6]),
    (305419896, "uint32", "ABCD", [0x1234, 0x5678]),
    (305419896, "uint32", "CDAB", [0x5678, 0x1234]),
    (305419896, "uint32", "BADC", [0x3412, 0x7856]),
    (305419896, "uint32", "DCBA", [0x7856, 0x3412]),
    (-2, "int32", "ABCD", [0xFFFF, 0xFFFE]),
    (0x1234, "uint16", "ABCD", [0x1234]),
    (-1, "int16", "ABCD", [0xFFFF]),
]


@pytest.mark.parametrize(("value", "kind", "order", "words"), VECTORS)
def test_reference_vectors(value: float, kind: str, order: str, words: list[int]) -> None:
    assert encode(value, kind, order) == words  # type: ignore[arg-type]
    assert decode(words, kind, order) == pytest.approx(value)  # type: ignore[arg-type]


def test_counters_wrap_at_register_width() -> None:
    assert encode(65536 + 5, "uint16") == [5]
    assert encode(2**32 + 7, "uint32") == [0, 7]
