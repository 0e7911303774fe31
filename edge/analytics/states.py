"""State intervals from a ``state`` signal of canonical codes (``connectors.base.MachineState``).

A state sample holds from its timestamp until the next state sample, and the last one until the
end of the observed span. When a machine has a state signal it wins over inference for the time
it covers: ``planned_stop`` is planned (removed from planned time, no loss), ``setup`` is the
setup loss, ``fault``, ``stopped``, ``idle`` and ``offline`` are unplanned stops (breakdown
loss). ``running`` and ``unknown`` leave the time to the counter inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from connectors.base import MachineState
from edge.analytics.intervals import I64, Intervals, as_i64

PLANNED_CODES = (MachineState.planned_stop,)
SETUP_CODES = (MachineState.setup,)
DOWN_CODES = (MachineState.fault, MachineState.stopped, MachineState.idle, MachineState.offline)


@dataclass(frozen=True, slots=True, eq=False)
class StateIntervals:
    """Time per state class, each a disjoint interval set (int64 ns)."""

    planned_stop: Intervals
    setup: Intervals
    down: Intervals

    @classmethod
    def empty(cls) -> StateIntervals:
        e = Intervals.empty()
        return cls(e, e, e)


def state_runs(
    ts_ns: NDArray[np.int64], codes: NDArray[np.generic], span_end: int
) -> tuple[I64, I64, I64]:
    """Runs of equal state: ``(starts, ends, code)``; the last run ends at ``span_end``."""
    ts = as_i64(ts_ns)
    c = np.rint(np.asarray(codes, dtype=np.float64).reshape(-1)).astype(np.int64)
    if c.size == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    change = np.empty(c.size, dtype=bool)
    change[0] = True
    np.not_equal(c[1:], c[:-1], out=change[1:])
    first = np.flatnonzero(change)
    starts = ts[first]
    ends = np.append(starts[1:], max(span_end, int(ts[-1])))
    return starts, ends, c[first]


def state_intervals(
    ts_ns: NDArray[np.int64], codes: NDArray[np.generic], span_end: int
) -> StateIntervals:
    """Planned-stop, setup and down time from a state signal."""
    starts, ends, code = state_runs(ts_ns, codes, span_end)

    def pick(wanted: tuple[MachineState, ...]) -> Intervals:
        m = np.isin(code, np.array([int(w) for w in wanted], dtype=np.int64))
        return Intervals.of(starts[m], ends[m])

    return StateIntervals(pick(PLANNED_CODES), pick(SETUP_CODES), pick(DOWN_CODES))
