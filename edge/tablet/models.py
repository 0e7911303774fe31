"""Values the tablet pages show and the receipts of operator actions (frozen dataclasses).

Times are timezone-aware UTC ``datetime``; durations in seconds; ratios in 0..1.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

HALTED = frozenset({"idle", "stopped", "fault", "setup", "planned_stop", "offline"})


class OrderAction(enum.StrEnum):
    start = "start"
    pause = "pause"
    resume = "resume"
    finish = "finish"


class OrderStatus(enum.StrEnum):
    released = "released"
    in_progress = "in_progress"
    paused = "paused"
    completed = "completed"


@dataclass(frozen=True, slots=True)
class Oee:
    availability: float
    performance: float
    quality: float

    @property
    def oee(self) -> float:
        return self.availability * self.performance * self.quality


@dataclass(frozen=True, slots=True)
class MachineTile:
    """Live view of one machine for the board. ``state`` is a canonical state name."""

    id: str
    state: str
    active_order: str | None = None
    item: str | None = None
    target_qty: int | None = None
    order_good: int = 0
    good: int = 0
    reject: int = 0
    oee: Oee | None = None
    last_stop_end: datetime | None = None
    last_sample_at: datetime | None = None
    state_since: datetime | None = None  # when the machine entered ``state``
    # the running shift's name; None: no shift now, counts and OEE are the local day's
    shift: str | None = None

    @property
    def halted(self) -> bool:
        """Not producing: the board says for how long, not the time since the last stop."""
        return self.state in HALTED

    @property
    def total(self) -> int:
        return self.good + self.reject

    @property
    def progress(self) -> float | None:
        if not self.target_qty:
            return None
        return min(1.0, self.order_good / self.target_qty)


@dataclass(frozen=True, slots=True)
class DispatchEntry:
    """A work order of the machine's dispatch list (already in dispatch order)."""

    number: str
    item: str
    qty: int
    status: OrderStatus
    qty_good: int = 0
    qty_scrap: int = 0
    customer: str | None = None
    priority: str | None = None
    due: date | None = None


@dataclass(frozen=True, slots=True)
class OrderChange:
    """Central cancelled or resized a RUNNING order: applied when the operator confirms it (or at
    the order's end). ``kind``: "cancel" | "qty"; ``target``: the new quantity for "qty"."""

    machine: str
    work_order: str
    kind: str
    target: int | None
    received: datetime


@dataclass(frozen=True, slots=True)
class PendingStop:
    """A stop that still needs a reason. ``end`` is None while the machine is still stopped."""

    id: str
    machine: str
    start: datetime
    end: datetime | None

    def duration_s(self, now: datetime) -> float:
        return ((self.end or now) - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Reason:
    """A node of a reason tree; leaves are selectable. ``labels``: language -> text."""

    code: str
    labels: Mapping[str, str]
    children: tuple[Reason, ...] = ()
    planned: bool = False  # a stop with this reason is planned: not an availability loss

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.code

    def leaves(self) -> tuple[Reason, ...]:
        if not self.children:
            return (self,)
        return tuple(leaf for child in self.children for leaf in child.leaves())


@dataclass(frozen=True, slots=True)
class QualitySpec:
    """Customer-specific limits of a characteristic for the active order (None: open side)."""

    characteristic: str
    lower: float | None
    upper: float | None
    unit: str = ""
    customer: str | None = None

    def verdict(self, value: float) -> str:
        low_ok = self.lower is None or value >= self.lower
        high_ok = self.upper is None or value <= self.upper
        return "pass" if low_ok and high_ok else "fail"


@dataclass(frozen=True, slots=True)
class QualityResult:
    characteristic: str
    value: float
    verdict: str
    at: datetime
    operator: str
    lower: float | None = None
    upper: float | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class StateSegment:
    start: datetime
    end: datetime
    state: str


@dataclass(frozen=True, slots=True)
class ShiftSeries:
    """What the shift chart draws: state intervals and cumulative good count over time.

    The window is the current shift (``shift`` is its name) or, when no shift is running, the
    recent past ending ``now`` (``shift`` None: the last hour, or less if the edge saw the
    machine for less).
    """

    start: datetime
    end: datetime
    now: datetime
    ideal_cycle_s: float
    segments: tuple[StateSegment, ...] = ()
    good_points: tuple[tuple[datetime, int], ...] = ()
    # when the edge first saw the machine in this shift (None: the shift start); the ideal
    # line starts there, so an edge started mid-shift is not charged for the hours before
    observed_from: datetime | None = None
    shift: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that an operator action was stored (in the outbox, with ``seq``).

    ``duplicate`` is True when the idempotency key had been used before: nothing new was stored
    and this is the receipt of the first submission.
    """

    key: str
    kind: str
    seq: int
    stored_at: datetime
    summary: Mapping[str, object] = field(default_factory=dict)
    duplicate: bool = False
