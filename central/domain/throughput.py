"""What a machine really achieves: learned cycle times and recent efficiency.

Learned cycle per (machine, item): over the last ``window`` production reports (latest by
``end``; default 10) with parts and run time, ``Σ run_s / Σ (good + scrap)``. This is a last-N
moving average weighted by parts, so a 3-part report after a restart cannot swing the estimate
the way a plain average of per-report cycles would. ``run_s`` must be the run time of the
parts (the report's period minus unplanned stops), so the cycle holds speed losses and
micro-stops (performance) but not stops (availability). No report → the routing's ideal cycle.

Recent efficiency per machine, from OEE reports ending in the last ``lookback_s`` (default
24 h), time-weighted: availability = Σ run_s / Σ planned_s, performance = Σ (P × run_s) /
Σ run_s. No report → the caller's default, ``NO_LOSS`` (1.0 / 1.0: no evidence of losses)
unless it passes a more cautious one.

Effective cycle (seconds of calendar working time per part)::

    learned cycle ÷ bounded(availability)                    (speed loss already in the cycle)
    routing ideal ÷ bounded(availability × performance)

bounded(x) = min(1, max(min_efficiency, x)): a bad hour cannot push an ETA to next year and
a performance above 1 (ideal cycle set too slow) never makes the plan faster than measured.
Dividing a learned cycle by performance again would count the speed loss twice.

Public API::

    learn_cycle_times(reports, *, window=10) -> dict[(machine, item), CycleEstimate]
    cycle_estimate(learned, machine, item, ideal_cycle_s) -> CycleEstimate
    recent_efficiency(reports, *, now, lookback_s=86400) -> dict[machine, Efficiency]
    effective_cycle_s(cycle, efficiency, *, min_efficiency=0.3) -> float
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from central.domain._checks import (
    require_aware,
    require_fraction,
    require_non_negative,
    require_positive,
)
from central.domain.errors import InvalidInput

LEARN_WINDOW = 10
LOOKBACK_S = 86_400.0
MIN_EFFICIENCY = 0.3


@dataclass(frozen=True)
class ProductionReport:
    """Parts made of ``item`` on ``machine`` in a period ending at ``end``, in ``run_s``."""

    machine: str
    item: str
    end: datetime
    good: float
    scrap: float
    run_s: float

    def __post_init__(self) -> None:
        where = f"ProductionReport[{self.machine}/{self.item}]"
        require_aware(f"{where}.end", self.end)
        for name in ("good", "scrap", "run_s"):
            require_non_negative(f"{where}.{name}", getattr(self, name))


@dataclass(frozen=True)
class OeeReport:
    """One OEE window of a machine (ISO 22400 times; performance as a ratio, may exceed 1)."""

    machine: str
    end: datetime
    planned_s: float
    run_s: float
    performance: float

    def __post_init__(self) -> None:
        where = f"OeeReport[{self.machine}]"
        require_aware(f"{where}.end", self.end)
        for name in ("planned_s", "run_s", "performance"):
            require_non_negative(f"{where}.{name}", getattr(self, name))


@dataclass(frozen=True)
class CycleEstimate:
    cycle_s: float
    source: Literal["learned", "routing"]
    reports: int


@dataclass(frozen=True)
class Efficiency:
    availability: float
    performance: float
    source: Literal["measured", "default"] = "measured"


NO_LOSS = Efficiency(1.0, 1.0, "default")


def learn_cycle_times(
    reports: Iterable[ProductionReport], *, window: int = LEARN_WINDOW
) -> dict[tuple[str, str], CycleEstimate]:
    """Learned cycle per (machine, item) from the latest ``window`` usable reports."""
    if window < 1:
        raise InvalidInput("window", f"must be >= 1, got {window}")
    usable: dict[tuple[str, str], list[ProductionReport]] = {}
    for rep in reports:
        if rep.good + rep.scrap > 0 and rep.run_s > 0:
            usable.setdefault((rep.machine, rep.item), []).append(rep)
    learned = {}
    for key, reps in usable.items():
        latest = sorted(reps, key=lambda r: r.end)[-window:]
        parts = sum(r.good + r.scrap for r in latest)
        learned[key] = CycleEstimate(sum(r.run_s for r in latest) / parts, "learned", len(latest))
    return learned


def cycle_estimate(
    learned: Mapping[tuple[str, str], CycleEstimate], machine: str, item: str, ideal_cycle_s: float
) -> CycleEstimate:
    """The learned cycle of (machine, item), else the routing's ideal cycle."""
    require_positive(f"ideal_cycle_s[{machine}/{item}]", ideal_cycle_s)
    return learned.get((machine, item)) or CycleEstimate(ideal_cycle_s, "routing", 0)


def recent_efficiency(
    reports: Iterable[OeeReport],
    *,
    now: datetime,
    lookback_s: float = LOOKBACK_S,
) -> dict[str, Efficiency]:
    """Time-weighted availability and performance per machine over the lookback window.

    Machines without a usable report are absent: look them up with ``.get(m, NO_LOSS)``.
    A machine that did not run at all gets availability 0 (bounded later) and performance 1.
    """
    require_aware("now", now)
    require_positive("lookback_s", lookback_s)
    since = now - timedelta(seconds=lookback_s)
    sums: dict[str, list[float]] = {}  # machine -> [planned, run, performance × run]
    for rep in reports:
        if rep.end > since and rep.planned_s > 0:
            acc = sums.setdefault(rep.machine, [0.0, 0.0, 0.0])
            acc[0] += rep.planned_s
            acc[1] += rep.run_s
            acc[2] += rep.performance * rep.run_s
    return {
        machine: Efficiency(run / planned, weighted / run if run > 0 else 1.0)
        for machine, (planned, run, weighted) in sums.items()
    }


def effective_cycle_s(
    cycle: CycleEstimate, efficiency: Efficiency, *, min_efficiency: float = MIN_EFFICIENCY
) -> float:
    """Calendar working seconds per part (see module doc for why learned cycles skip P)."""
    require_fraction("min_efficiency", min_efficiency)
    factor = efficiency.availability
    if cycle.source == "routing":
        factor *= efficiency.performance
    return cycle.cycle_s / min(1.0, max(min_efficiency, factor))
