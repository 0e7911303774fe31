"""Deterministic machine model with ground truth.

Event-driven: the model computes when the current cycle, stop or setup ends and jumps from
event to event, drawing its random numbers in event order. The truth therefore depends only on
the seed, the spec and the times of the external calls (``set_order``), never on how often
``advance`` is called. Times are UTC nanoseconds; durations in the spec are seconds of machine
time, divided by ``Behaviour.speed`` (a demo can run a 30 s oven ten times faster).

States: running, micro_stop, stopped, fault, setup, idle. A new order (``set_order`` or a
scripted event) starts a setup at once, whatever the machine was doing (a cycle in progress is
lost); reaching the order's target makes the machine idle until the next order or target.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal, Protocol

from simulators.layout import Layout
from simulators.truth import GroundTruth

State = Literal["running", "micro_stop", "stopped", "fault", "setup", "idle"]
STATES: tuple[State, ...] = ("running", "micro_stop", "stopped", "fault", "setup", "idle")
NS = 1_000_000_000


@dataclass(frozen=True)
class Behaviour:
    """Random behaviour. Rates are per hour of running time; ranges are (min, max) seconds."""

    jitter: float = 0.03
    reject_rate: float = 0.0
    micro_stops_per_h: float = 0.0
    micro_stop_s: tuple[float, float] = (5.0, 60.0)
    stops_per_h: float = 0.0
    stop_s: tuple[float, float] = (300.0, 1200.0)
    mtbf_s: float | None = None
    mttr_s: float = 600.0
    slow_periods_per_h: float = 0.0
    slow_s: tuple[float, float] = (60.0, 600.0)
    slow_factor: float = 1.5
    setup_s: float = 120.0
    speed: float = 1.0


@dataclass(frozen=True)
class ScriptedEvent:
    """At ``at_s`` after start: enter ``state`` for ``duration_s`` and/or change the order."""

    at_s: float
    state: State | None = None
    duration_s: float | None = None
    order: str | None = None
    target: int | None = None


@dataclass(frozen=True)
class MachineSpec:
    id: str
    ideal_cycle_s: float
    behaviour: Behaviour = field(default_factory=Behaviour)
    events: tuple[ScriptedEvent, ...] = ()
    order: str | None = None
    target: int = 0
    #: Without an order the machine waits idle (else it runs anonymous parts).
    requires_order: bool = False
    #: Value of the wire counter at start (e.g. 65500 with a uint16 counter to force a wrap).
    counter_start: int = 0
    source: Layout | None = None


class HasSpec(Protocol):
    def to_spec(self) -> MachineSpec: ...


class MachineModel:
    """A machine: ``advance(now_ns)`` moves it to ``now_ns``; ``truth`` records what happened."""

    def __init__(self, spec: MachineSpec | HasSpec, seed: int, *, start_ns: int | None = None):
        self.spec = spec if isinstance(spec, MachineSpec) else spec.to_spec()
        self.seed = seed
        self.truth = GroundTruth(self.spec.id)
        # Separate streams per concern: a scripted fault does not shift every later cycle time.
        self._rng_cycle = random.Random(f"{seed}/{self.spec.id}/cycle")
        self._rng_stop = random.Random(f"{seed}/{self.spec.id}/stop")
        self._rng_fail = random.Random(f"{seed}/{self.spec.id}/fail")
        self._scripted = sorted(self.spec.events, key=lambda e: e.at_s)
        self._next_script = 0
        self._start_ns: int | None = None
        self._now_ns = 0
        self._state: State = "idle"
        self._until_ns: int | None = None
        self._cycle_start_ns = 0
        self._cycle_end_ns: int | None = None
        self._slow_until_ns = 0
        self._run_left_s = math.inf
        self._order_good = 0
        self.last_cycle_s = 0.0
        if start_ns is not None:
            self._begin(start_ns)

    # -- public --------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def state(self) -> State:
        return self._state

    @property
    def started(self) -> bool:
        return self._start_ns is not None

    @property
    def start_ns(self) -> int | None:
        return self._start_ns

    @property
    def now_ns(self) -> int:
        return self._now_ns

    @property
    def order(self) -> str | None:
        return self.truth.order

    @property
    def target(self) -> int:
        return self.truth.target or 0

    @property
    def wire_count(self) -> int:
        """Counter value a PLC would show (before any width wrap)."""
        return self.spec.counter_start + self.truth.count

    def advance(self, now_ns: int) -> None:
        """Process every event up to and including ``now_ns``. Going back in time is a no-op."""
        if self._start_ns is None:
            self._begin(now_ns)
        while True:
            nxt = self._next_event()
            if nxt is None or nxt[0] > now_ns:
                break
            self._apply(*nxt)
        self._now_ns = max(self._now_ns, now_ns)

    def set_order(self, order: str | None, target: int | None, now_ns: int) -> None:
        """Downlink: a new order triggers a setup; a new target alone does not."""
        self.advance(now_ns)
        at = self._now_ns
        target = self.target if target is None else target
        if order != self.order:
            self._change_order(at, order, target, "downlink")
        elif target != self.target:
            self.truth.record_order(at, order, target, "downlink")
            if self._state == "idle" and self._has_work():
                self._enter(at, "running", "target")

    # -- event loop ----------------------------------------------------------------------------
    def _begin(self, start_ns: int) -> None:
        self._start_ns = self._now_ns = start_ns
        self._draw_failure_budget()
        self.truth.record_order(start_ns, self.spec.order, self.spec.target, "initial")
        self._enter(start_ns, "running" if self._has_work() else "idle", "start")

    def _next_event(self) -> tuple[int, int] | None:
        """(time, kind) of the earliest pending event; kind orders ties: script, end, cycle."""
        assert self._start_ns is not None
        candidates: list[tuple[int, int]] = []
        if self._next_script < len(self._scripted):
            at = self._start_ns + round(self._scripted[self._next_script].at_s * NS)
            candidates.append((at, 0))
        if self._until_ns is not None:
            candidates.append((self._until_ns, 1))
        if self._cycle_end_ns is not None:
            candidates.append((self._cycle_end_ns, 2))
        return min(candidates) if candidates else None

    def _apply(self, at: int, kind: int) -> None:
        if kind == 0:
            event = self._scripted[self._next_script]
            self._next_script += 1
            self._apply_script(at, event)
        elif kind == 1:
            self._resume(at, "end")
        else:
            self._end_cycle(at)

    def _apply_script(self, at: int, event: ScriptedEvent) -> None:
        if event.order is not None or event.target is not None:
            order = event.order if event.order is not None else self.order
            target = event.target if event.target is not None else self.target
            if order != self.order:
                self._change_order(at, order, target, "script")
            else:
                self.truth.record_order(at, order, target, "script")
                if self._state == "idle" and self._has_work():
                    self._enter(at, "running", "target")
        if event.state is not None:
            until = None if event.duration_s is None else at + round(event.duration_s * NS)
            self._enter(at, event.state, "script", until)

    def _end_cycle(self, at: int) -> None:
        b = self.spec.behaviour
        self._cycle_end_ns = None
        duration_s = (at - self._cycle_start_ns) / NS
        self.last_cycle_s = duration_s
        rejected = self._rng_cycle.random() < b.reject_rate
        self.truth.record_cycle(at, rejected)
        if not rejected:
            self._order_good += 1
        self._run_left_s -= duration_s
        hours = duration_s / 3600.0
        if not self._has_work():
            self._enter(at, "idle", "target_reached")
        elif self._run_left_s <= 0:
            self._draw_failure_budget()
            repair = self._rng_fail.expovariate(1.0 / b.mttr_s) if b.mttr_s > 0 else 0.0
            self._enter(at, "fault", "breakdown", at + self._scaled(max(repair, 1.0)))
        elif self._rng_stop.random() < b.micro_stops_per_h * hours:
            pause = self._rng_stop.uniform(*b.micro_stop_s)
            self._enter(at, "micro_stop", "micro_stop", at + self._scaled(pause))
        elif self._rng_stop.random() < b.stops_per_h * hours:
            pause = self._rng_stop.uniform(*b.stop_s)
            self._enter(at, "stopped", "stop", at + self._scaled(pause))
        else:
            self._start_cycle(at)

    # -- helpers -------------------------------------------------------------------------------
    def _enter(self, at: int, state: State, cause: str, until: int | None = None) -> None:
        self._cycle_end_ns = None  # any state change aborts the cycle in progress
        self._until_ns = until
        if state != self._state or cause in ("script", "start"):
            self._state = state
            self.truth.record_state(at, state, cause)
        if state == "running":
            self._start_cycle(at)

    def _resume(self, at: int, cause: str) -> None:
        self._enter(at, "running" if self._has_work() else "idle", cause)

    def _change_order(self, at: int, order: str | None, target: int, cause: str) -> None:
        self._order_good = 0
        self.truth.record_order(at, order, target, cause)
        setup = self.spec.behaviour.setup_s * self._rng_stop.uniform(0.9, 1.1)
        self._enter(at, "setup", "order", at + self._scaled(setup))

    def _has_work(self) -> bool:
        if self.spec.requires_order and not self.order:
            return False
        return not (self.target > 0 and self._order_good >= self.target)

    def _start_cycle(self, at: int) -> None:
        b = self.spec.behaviour
        factor = max(0.5, min(3.0, 1.0 + b.jitter * self._rng_cycle.gauss(0.0, 1.0)))
        if at >= self._slow_until_ns:
            hours = self.spec.ideal_cycle_s / 3600.0
            if self._rng_cycle.random() < b.slow_periods_per_h * hours:
                self._slow_until_ns = at + self._scaled(self._rng_cycle.uniform(*b.slow_s))
        if at < self._slow_until_ns:
            factor *= b.slow_factor
        self._cycle_start_ns = at
        self._cycle_end_ns = at + max(1, self._scaled(self.spec.ideal_cycle_s * factor))

    def _draw_failure_budget(self) -> None:
        mtbf = self.spec.behaviour.mtbf_s
        self._run_left_s = self._rng_fail.expovariate(1.0 / mtbf) if mtbf else math.inf

    def _scaled(self, seconds: float) -> int:
        return round(seconds * NS / self.spec.behaviour.speed)
