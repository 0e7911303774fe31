from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.modbus_codec import decode, encode, register_count

# reference/protocols.md: name the bytes A (most significant) .. D.
VECTORS = [
    # (value, type, word_order, byte_swap, registers)
    (123456.0, "float32", "big", False, [0x47F1, 0x2000]),  # ABCD
    (123456.0, "float32", "little", False, [0x2000, 0x47F1]),  # CDAB
    (123456.0, "float32", "big", True, [0xF147, 0x0020]),  # BADC
    (123456.0, "float32", "little", True, [0x0020, 0xF147]),  # DCBA
    (305419896, "uint32", "big", False, [0x1234, 0x5678]),
]


@pytest.mark.parametrize(("value", "dtype", "order", "swap", "regs"), VECTORS)
def test_reference_vectors_decode_and_encode(
    value: float, dtype: str, order: str, swap: bool, regs: list[int]
) -> None:
    assert decode(regs, dtype, order, swap) == value
    assert encode(value, dtype, order, swap) == regs


def test_123_45_float_vectors() -> None:
    assert decode([0x42F6, 0xE666], "float32", "big") == pytest.approx(123.45, rel=1e-7)
    assert decode([0xE666, 0x42F6], "float32", "little") == pytest.approx(123.45, rel=1e-7)
    assert encode(123.45, "float32", "big") == [0x42F6, 0xE666]
    assert encode(123.45, "float32", "little") == [0xE666, 0x42F6]


def test_signed_and_64_bit_types() -> None:
    assert decode([0xFFFF], "int16") == -1
    assert decode([0xFFFF], "uint16") == 65535
    assert decode([0xFFFF, 0xFFFE], "int32") == -2
    assert decode([0x0000, 0x0000, 0x0000, 0x0001], "int64") == 1
    assert decode([0x0001, 0x0000, 0x0000, 0x0000], "int64", "little") == 1
    assert encode(1.5, "float64", "big")[0] == 0x3FF8
    assert [register_count(t) for t in ("bool", "int16", "uint32", "float64")] == [1, 1, 2, 4]


def test_out_of_range_and_fractional_integers_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode(70000, "uint16")
    with pytest.raises(ValueError, match="not an integer"):
        encode(1.5, "int32")
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode([1], "uint32")


INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


@given(
    st.sampled_from(sorted(INT_RANGES)),
    st.sampled_from(["big", "little"]),
    st.booleans(),
    st.data(),
)
def test_integer_round_trip(dtype: str, order: str, swap: bool, data: st.DataObject) -> None:
    low, high = INT_RANGES[dtype]
    value = data.draw(st.integers(low, high))
    regs = encode(value, dtype, order, swap)
    assert all(0 <= r <= 0xFFFF for r in regs)
    assert decode(regs, dtype, order, swap) == value


@given(st.floats(allow_nan=False, width=64), st.sampled_from(["big", "little"]), st.booleans())
def test_float64_round_trip(value: float, order: str, swap: bool) -> None:
    assert decode(encode(value, "float64", order, swap), "float64", order, swap) == value
