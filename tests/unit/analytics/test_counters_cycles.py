"""Counter deltas (wraps, PLC resets, implausible jumps) and cycle ends (spread, cycle bit)."""

from __future__ import annotations

import numpy as np

from edge.analytics.counters import CounterBaseline, counter_deltas
from edge.analytics.cycles import cycle_ends, cycle_times_s, rising_edges
from tests.unit.analytics.traces import NS

TS = np.arange(0, 10 * NS, NS, dtype=np.int64)


def _deltas(values: list[float], **kw: object) -> list[int]:
    v = np.array(values, np.float64)
    return counter_deltas(TS[: v.size], v, **kw).delta.tolist()  # type: ignore[arg-type]


def test_uint16_wrap_counts_the_parts_across_the_top() -> None:
    d = counter_deltas(TS[:4], np.array([65533.0, 65535.0, 1.0, 3.0]), width_bits=16)
    assert d.delta.tolist() == [0, 2, 2, 2]
    assert d.wraps.tolist() == [2] and d.resets.size == 0


def test_plc_restart_resets_to_zero_and_counts_from_there() -> None:
    d = counter_deltas(TS[:4], np.array([1200.0, 1203.0, 2.0, 5.0]), width_bits=16)
    assert d.delta.tolist() == [0, 3, 2, 3]  # 1203 -> 2 is a restart, not a wrap
    assert d.resets.tolist() == [2] and d.wraps.size == 0


def test_unknown_width_recognises_wraps_at_2_16_and_2_32() -> None:
    assert _deltas([65534, 1]) == [0, 3]
    assert _deltas([2**32 - 2, 3]) == [0, 5]
    assert _deltas([40_000, 7]) == [0, 7]  # far from any top: a reset


def test_known_width_32_does_not_take_a_uint16_top_for_a_wrap() -> None:
    assert _deltas([65534, 1], width_bits=32) == [0, 1]


def test_implausible_jump_is_flagged_and_not_counted() -> None:
    d = counter_deltas(TS[:4], np.array([10.0, 11.0, 5011.0, 5012.0]), max_rate_per_s=2.0)
    assert d.delta.tolist() == [0, 1, 0, 1]
    assert d.implausible.tolist() == [2]
    assert d.total == 2


def test_baseline_carries_the_previous_chunk() -> None:
    first = counter_deltas(TS[:3], np.array([65534.0, 65535.0, 0.0]), width_bits=16)
    assert first.baseline == CounterBaseline(int(TS[2]), 0)
    nxt = counter_deltas(TS[3:5], np.array([2.0, 4.0]), width_bits=16, baseline=first.baseline)
    assert nxt.delta.tolist() == [2, 2]


def test_several_parts_in_one_sample_are_spread_evenly_over_the_interval() -> None:
    ts = np.array([0, 10, 20], np.int64) * NS
    ends = cycle_ends(ts, np.array([0, 1, 4], np.int64))
    assert (ends // NS).tolist() == [10, 12, 15, 17, 20]  # 10 s / 4 parts = 2.5 s apart
    assert cycle_times_s(ends).tolist() == [2.5, 2.5, 2.5, 2.5]


def test_groups_of_many_sizes_are_spread_the_same_way() -> None:
    ts = np.array([0, 3, 4, 52, 55, 57], np.int64) * NS
    ends = cycle_ends(ts, np.array([0, 3, 1, 48, 3, 2], np.int64))
    assert (ends // NS).tolist() == list(range(1, 58))  # one part a second throughout


def test_first_sample_spreads_from_the_previous_chunk_only_when_given() -> None:
    ts = np.array([10 * NS], np.int64)
    assert (cycle_ends(ts, np.array([2]), prev_ts_ns=0) // NS).tolist() == [5, 10]
    assert (cycle_ends(ts, np.array([2])) // NS).tolist() == [10, 10]


def test_cycle_bit_rising_edges() -> None:
    values = np.array([1, 1, 0, 1, 1, 0, 0, 1], np.float64)
    assert (rising_edges(TS[:8], values) // NS).tolist() == [3, 7]
    assert (rising_edges(TS[:2], values[:2], prev_value=0.0) // NS).tolist() == [0]
