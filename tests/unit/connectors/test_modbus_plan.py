from __future__ import annotations

import pytest

from connectors.base import ConfigurationError, MachineState, Sample
from connectors.modbus_codec import encode
from connectors.modbus_plan import decode_bits, decode_registers, plan_reads
from connectors.specs import ModbusSignalSpec as S


def test_contiguous_signals_share_one_request_per_table() -> None:
    plan = plan_reads(
        [
            S("count", 0, type="uint32"),
            S("reject", 2),
            S("state", 3),
            S("temp", 0, table="input", type="float32"),
            S("run", 5, table="coil", type="bool"),
            S("door", 7, table="coil", type="bool"),
        ]
    )
    assert [(r.table, r.address, r.count) for r in plan] == [
        ("holding", 0, 4),
        ("input", 0, 2),
        ("coil", 5, 1),
        ("coil", 7, 1),
    ]


def test_requests_never_exceed_125_registers_or_2000_bits() -> None:
    regs = [S(f"r{i}", i * 2, type="uint32") for i in range(100)]  # 200 registers
    plan = plan_reads(regs)
    assert [r.count for r in plan] == [124, 76]
    assert sum(len(r.slots) for r in plan) == 100
    bits = [S(f"b{i}", i, table="discrete", type="bool") for i in range(2500)]
    assert [r.count for r in plan_reads(bits)] == [2000, 500]


def test_gaps_split_requests_unless_allowed() -> None:
    signals = [S("a", 0), S("b", 5)]
    assert len(plan_reads(signals)) == 2
    (merged,) = plan_reads(signals, max_gap=4)
    assert (merged.address, merged.count) == (0, 6)


def test_bad_specs_fail_naming_the_signal() -> None:
    with pytest.raises(ConfigurationError, match="'x'"):
        plan_reads([S("x", 0, table="coil", type="uint32")])
    with pytest.raises(ConfigurationError, match="'y'"):
        plan_reads([S("y", 65535, type="uint32")])
    with pytest.raises(ConfigurationError, match="'z'"):
        plan_reads([S("z", 0, states={"1": "sleeping"})])


def test_decode_block_with_every_order_scale_and_states() -> None:
    (req,) = plan_reads(
        [
            S("count", 0, type="uint32"),
            S("temp", 2, type="float32", word_order="little", byte_swap=True, scale=2.0, offset=1),
            S("state", 4, states={"1": "running", "3": "fault"}),
            S("flag", 5, type="bool"),
            S("neg", 6, type="int16"),
        ]
    )
    regs = [
        *encode(305419896, "uint32"),
        *encode(123456.0, "float32", "little", True),
        3,
        7,
        0xFFFE,
    ]
    out: list[Sample] = []
    assert decode_registers(req, regs, 5, "m", out) == []
    assert out == [
        Sample(5, "m", "count", 305419896.0),
        Sample(5, "m", "temp", 123456.0 * 2 + 1),
        Sample(5, "m", "state", float(MachineState.fault)),
        Sample(5, "m", "flag", 1.0),
        Sample(5, "m", "neg", -2.0),
    ]


def test_unmapped_state_is_reported_and_emitted_as_unknown() -> None:
    (req,) = plan_reads([S("state", 0, states={"1": "running"}), S("count", 1)])
    out: list[Sample] = []
    bad = decode_registers(req, [9, 42], 1, "m", out)
    assert [b.reason for b in bad] == ["unmapped_state"]
    assert out == [Sample(1, "m", "state", 0.0), Sample(1, "m", "count", 42.0)]


def test_decode_bits() -> None:
    (req,) = plan_reads(
        [S("a", 3, table="discrete", type="bool"), S("b", 4, table="discrete", type="bool")]
    )
    out: list[Sample] = []
    decode_bits(req, [True, False, False, False, False, False, False, False], 9, "m", out)
    assert [s.value for s in out] == [1.0, 0.0]


def test_all_integer_blocks_decode_in_one_unpack_with_gaps() -> None:
    signals = [S("a", 0), S("b", 2, type="int32"), S("c", 5, type="int64"), S("d", 9, type="int16")]
    (req,) = plan_reads(signals, max_gap=1)
    assert req.block is not None
    assert req.block.format == ">Hxxixxqh"  # gaps at 1 and 4 become pad bytes
    regs = [7, 0, *encode(-5, "int32"), 0, *encode(2**40, "int64"), 0xFFFF]
    out: list[Sample] = []
    assert decode_registers(req, regs, 1, "m", out) == []
    assert [s.value for s in out] == [7.0, -5.0, float(2**40), -1.0]
    # a float, a state map or a word swap falls back to the per-signal path
    assert plan_reads([S("a", 0), S("f", 1, type="float32")])[0].block is None
    assert plan_reads([S("a", 0, states={"1": "running"})])[0].block is None
    assert plan_reads([S("a", 0, type="uint32", word_order="little")])[0].block is None
