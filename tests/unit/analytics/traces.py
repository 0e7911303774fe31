"""Signal traces built the way a PLC and a poller produce them, for the scenario tests.

A machine makes parts at known instants; a poller reads its cumulative counter (of a given
width) every ``poll_s``; the reject counter increments on a chosen subset of parts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from edge.analytics.calendar import to_ns

NS = 1_000_000_000


def utc(*args: int) -> int:
    return to_ns(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def parts_evenly(start: int, end: int, n: int) -> np.ndarray:
    """``n`` part completions in ``(start, end]``: the last exactly at ``end``."""
    step = (end - start) / n
    return start + np.round(step * np.arange(1, n + 1)).astype(np.int64)


def polled_counter(
    part_ends: np.ndarray, poll_ts: np.ndarray, *, start_value: int = 0, width_bits: int = 32
) -> np.ndarray:
    """The counter a poller reads at ``poll_ts`` (parts made at or before each poll)."""
    made = np.searchsorted(np.sort(part_ends), poll_ts, side="right")
    return ((start_value + made) % (1 << width_bits)).astype(np.float64)


def polls(start: int, end: int, every_s: float) -> np.ndarray:
    return np.arange(start, end + 1, round(every_s * NS), dtype=np.int64)
