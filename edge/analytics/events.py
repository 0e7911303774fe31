"""Stop events of one machine, for the operator (reasons) and for the ``stop`` sync record.

A stop is either said by the ``state`` signal (setup, fault, stopped, idle, offline) or inferred
from the counter: no part for longer than ``stop_threshold_s``, over time the state signal does
not explain, if that remainder is itself longer than the threshold. DESIGN.md: a stop needs a
reason from the operator unless the state already says setup or fault (a planned stop is not a
stop at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from connectors.base import MachineState
from edge.analytics.intervals import Intervals
from edge.analytics.report import (
    MachineParams,
    Series,
    has_samples,
    machine_cycle_ends,
    observed_span,
)
from edge.analytics.states import DOWN_CODES, PLANNED_CODES, SETUP_CODES, state_runs
from edge.analytics.stops import classify_gaps

INFERRED = "unexplained"
EXPLAINED = ("setup", "fault")


@dataclass(frozen=True, slots=True)
class StopEvent:
    """``[start_ns, end_ns)``; ``cause`` a state name, or ``"unexplained"`` when inferred."""

    start_ns: int
    end_ns: int
    cause: str

    @property
    def needs_reason(self) -> bool:
        return self.cause not in EXPLAINED

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def stop_events(
    series: Mapping[str, Series],
    params: MachineParams,
    start_ns: int,
    end_ns: int,
    *,
    observed_until_ns: int | None = None,
) -> list[StopEvent]:
    """Stops overlapping ``[start_ns, end_ns)``, sorted by start (not clipped to the period)."""
    span = observed_span(series)
    if span is None:
        return []
    hi = span[1] if observed_until_ns is None else max(span[1], observed_until_ns)
    events: list[StopEvent] = []
    explained = Intervals.empty()
    if has_samples(series, "state"):
        starts, ends, codes = state_runs(*series["state"], hi)
        stateful = np.isin(codes, [int(c) for c in (*DOWN_CODES, *SETUP_CODES, *PLANNED_CODES)])
        explained = Intervals.of(starts[stateful], ends[stateful])
        for s, e, c in zip(starts.tolist(), ends.tolist(), codes.tolist(), strict=True):
            if c in DOWN_CODES or c in SETUP_CODES:
                events.append(StopEvent(s, e, MachineState(c).name))
    if has_samples(series, "count") or has_samples(series, "cycle"):
        inferred = classify_gaps(machine_cycle_ends(series, params), span[0], hi, params.limits)
        # What the state leaves unexplained is a stop only if it is itself longer than the
        # threshold; a shorter remainder is the edge of an explained stop.
        events += [
            StopEvent(s, e, INFERRED)
            for s, e in inferred.stops.minus(explained).pairs()
            if e - s > params.limits.stop_ns
        ]
    return sorted(
        (ev for ev in events if ev.end_ns > start_ns and ev.start_ns < end_ns),
        key=lambda ev: (ev.start_ns, ev.end_ns),
    )
