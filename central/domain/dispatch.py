"""Dispatch order per machine: which ready work order runs next, and why.

Filter: an order is dispatchable when its status is ready (released, in_progress, paused),
every predecessor is done (its number is in ``done``) and its components are available.
Availability is ``OpenOrder.components_available`` when set; otherwise, when ``stock`` (item →
on-hand qty) is given, stock is allocated across the machines passed in — started orders
first (their material is committed at the machine), then in rank order — and an order whose
outstanding need (see ``central.domain.orders``) exceeds what is left is held; with neither,
components count as available. Ready orders that fail the filter
come back as :class:`Held` with their reasons; draft, done and cancelled orders are ignored.

Sort key, most significant first:
1. expedite flag (expedited first);
2. customer priority class A, B, C, then none;
3. the planner's ``priority`` number, higher first (0 by default). It ranks orders *within* a
   customer class, before the rule: the class is the CRM's commitment to the customer and a
   planner who must jump it uses the explicit, visible expedite flag; after the rule the
   number would only break exact due-date ties and be almost useless. (ISA-95 dispatch: "sort
   by expedite flag, customer priority class, then a rule" — the planner's number refines the
   class.)
4. the rule (:class:`DispatchRule`):
   - ``edd``: earliest due date (no due date last) — the default;
   - ``critical_ratio``: (due − now) / remaining processing time, lowest first (below 1: cannot
     finish in time; negative: already late). Time until due is working seconds when a
     ``calendar`` is given, else elapsed seconds; no due date ranks last;
   - ``spt``: shortest remaining processing time;
   - ``fifo``: no rule key (the tie-break decides);
5. FIFO tie-break: ``released_at`` (unknown last), then the order number in natural order
   (WO-9 before WO-10).

Remaining processing time = pending setup + remaining qty × cycle, with the cycle from
``cycle_s[(machine, item)]`` (e.g. the learned cycle from ``central.domain.throughput``) or the
routing's ``ideal_cycle_s``.

Public API::

    dispatch(orders, *, now, rule=DispatchRule.EDD, done=(), stock=None, cycle_s=None,
             calendar=None) -> dict[str, MachineQueue]      (keyed by machine id)
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from central.domain._checks import require_aware
from central.domain.calendar import WorkingCalendar, working_seconds_between
from central.domain.errors import InvalidInput
from central.domain.orders import PRIORITY_CLASSES, OpenOrder

# Floor of the processing time in the critical ratio so that a nearly finished order does not
# divide by zero (one second is below any real cycle).
MIN_PROCESSING_S = 1.0

NaturalKey = tuple[int | str, ...]
SortKey = tuple[int, int, int, float, float, NaturalKey]


class DispatchRule(StrEnum):
    EDD = "edd"
    CRITICAL_RATIO = "critical_ratio"
    SPT = "spt"
    FIFO = "fifo"


@dataclass(frozen=True)
class Ranked:
    """A dispatchable order at ``rank`` (1-based) in its machine's queue.

    ``rule_value`` is what the rule compared: due date as epoch seconds (edd), the critical
    ratio, or processing seconds (spt); None for fifo or a missing due date. ``reason`` is a
    sentence for the planner UI: the order's key, then what put it behind the previous order.
    """

    number: str
    machine: str
    rank: int
    rule_value: float | None
    processing_s: float
    reason: str


@dataclass(frozen=True)
class Held:
    """A ready order that cannot start yet, with every reason (for the planner UI)."""

    number: str
    machine: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MachineQueue:
    machine: str
    ranked: tuple[Ranked, ...]
    held: tuple[Held, ...]

    @property
    def sequence(self) -> tuple[str, ...]:
        """Ranked orders then held ones (held in key order): the order the ETA walk uses."""
        return tuple(r.number for r in self.ranked) + tuple(h.number for h in self.held)


@dataclass(frozen=True)
class _Candidate:
    order: OpenOrder
    processing_s: float
    rule_value: float | None
    key: SortKey


def dispatch(
    orders: Iterable[OpenOrder],
    *,
    now: datetime,
    rule: DispatchRule = DispatchRule.EDD,
    done: Collection[str] = frozenset(),
    stock: Mapping[str, float] | None = None,
    cycle_s: Mapping[tuple[str, str], float] | None = None,
    calendar: WorkingCalendar | None = None,
) -> dict[str, MachineQueue]:
    """Rank the ready orders of every machine (see module doc); one queue per machine."""
    require_aware("now", now)
    cycles = cycle_s or {}
    candidates = sorted(
        (_candidate(o, now, rule, cycles, calendar) for o in orders if o.is_ready),
        key=lambda c: c.key,
    )
    numbers = [c.order.number for c in candidates]
    if len(set(numbers)) != len(numbers):
        raise InvalidInput("orders", "work-order numbers must be unique")
    left = dict(stock) if stock is not None else None
    # Started orders claim stock first (their material is committed at the machine), then
    # the others in rank order.
    reasons = {
        c.order.number: _hold_reasons(c.order, done, left)
        for c in sorted(candidates, key=lambda c: not c.order.started)
    }
    passed: dict[str, list[_Candidate]] = {}
    held: dict[str, list[Held]] = {}
    for cand in candidates:
        machine = cand.order.machine
        passed.setdefault(machine, [])
        if reasons[cand.order.number]:
            held.setdefault(machine, []).append(
                Held(cand.order.number, machine, reasons[cand.order.number])
            )
        else:
            passed[machine].append(cand)
    return {
        machine: MachineQueue(
            machine, _rank(machine, passed[machine], rule), tuple(held.get(machine, ()))
        )
        for machine in sorted(passed)
    }


def _candidate(
    order: OpenOrder,
    now: datetime,
    rule: DispatchRule,
    cycles: Mapping[tuple[str, str], float],
    calendar: WorkingCalendar | None,
) -> _Candidate:
    processing = order.processing_s(cycles.get((order.machine, order.item), order.ideal_cycle_s))
    value: float | None = None
    if rule is DispatchRule.EDD and order.due is not None:
        value = order.due.timestamp()
    elif rule is DispatchRule.CRITICAL_RATIO and order.due is not None:
        value = _time_until(order.due, now, calendar) / max(processing, MIN_PROCESSING_S)
    elif rule is DispatchRule.SPT:
        value = processing
    rule_key = 0.0 if rule is DispatchRule.FIFO else (math.inf if value is None else value)
    key: SortKey = (
        0 if order.expedite else 1,
        _class_rank(order.priority_class),
        -order.priority,
        rule_key,
        order.released_at.timestamp() if order.released_at else math.inf,
        natural_key(order.number),
    )
    return _Candidate(order, processing, value, key)


def _time_until(due: datetime, now: datetime, calendar: WorkingCalendar | None) -> float:
    if calendar is None:
        return (due - now).total_seconds()
    return working_seconds_between(calendar, now, due)


def _class_rank(priority_class: str | None) -> int:
    return PRIORITY_CLASSES.index(priority_class) if priority_class else len(PRIORITY_CLASSES)


def natural_key(number: str) -> NaturalKey:
    """Sort key that orders embedded numbers numerically: WO-9 < WO-10."""
    parts = re.split(r"(\d+)", number)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _hold_reasons(
    order: OpenOrder, done: Collection[str], left: dict[str, float] | None
) -> tuple[str, ...]:
    reasons = [f"predecessor {p} not done" for p in order.predecessors if p not in done]
    if order.components_available is False:
        reasons.append("components not available")
    elif order.components_available is None and left is not None and not reasons:
        needs = order.component_needs()
        short = {item: qty for item, qty in needs.items() if qty > left.get(item, 0.0) + 1e-9}
        reasons.extend(
            f"component {item} short: needs {qty:g}, {max(0.0, left.get(item, 0.0)):g} available"
            for item, qty in sorted(short.items())
        )
        if not short:
            # Only an order that will actually run takes its components out of the pool.
            for item, qty in needs.items():
                left[item] = left.get(item, 0.0) - qty
    return tuple(reasons)


def _rank(machine: str, cands: list[_Candidate], rule: DispatchRule) -> tuple[Ranked, ...]:
    ranked = []
    for i, cand in enumerate(cands):
        decision = "first in queue" if i == 0 else _decision(cands[i - 1], cand, rule)
        ranked.append(
            Ranked(
                number=cand.order.number,
                machine=machine,
                rank=i + 1,
                rule_value=cand.rule_value,
                processing_s=cand.processing_s,
                reason=f"{_describe(cand, rule)}; {decision}",
            )
        )
    return tuple(ranked)


def _describe(cand: _Candidate, rule: DispatchRule) -> str:
    order = cand.order
    parts = ["expedite"] if order.expedite else []
    parts.append(f"class {order.priority_class}" if order.priority_class else "no class")
    if order.priority:
        parts.append(f"priority {order.priority}")
    if rule is DispatchRule.EDD:
        parts.append(f"due {_fmt(order.due)}" if order.due else "no due date")
    elif rule is DispatchRule.CRITICAL_RATIO:
        value = cand.rule_value
        parts.append(f"critical ratio {value:.2f}" if value is not None else "no due date")
    elif rule is DispatchRule.SPT:
        parts.append(f"processing {_hours(cand.processing_s)}")
    parts.append(f"released {_fmt(order.released_at)}" if order.released_at else "release unknown")
    return ", ".join(parts)


def _decision(prev: _Candidate, cand: _Candidate, rule: DispatchRule) -> str:
    """Why ``cand`` comes after ``prev``: the first component of the key that differs."""
    a, b = prev.order, cand.order
    behind = f"after {a.number}"
    if prev.key[0] != cand.key[0]:
        return f"{behind}, which is expedited"
    if prev.key[1] != cand.key[1]:
        return f"{behind}: class {a.priority_class} beats {_class_name(b.priority_class)}"
    if prev.key[2] != cand.key[2]:
        return f"{behind}: priority {a.priority} beats {b.priority}"
    if prev.key[3] != cand.key[3]:
        return f"{behind}: {_rule_comparison(prev, cand, rule)}"
    same = "same class" + ("" if rule is DispatchRule.FIFO else f" and {_rule_name(rule)}")
    if prev.key[4] != cand.key[4]:
        return f"{behind}: {same}; FIFO: released first ({_fmt(a.released_at)})"
    return f"{behind}: {same} and release time; FIFO: lower order number"


def _rule_comparison(prev: _Candidate, cand: _Candidate, rule: DispatchRule) -> str:
    if prev.rule_value is not None and cand.rule_value is None:
        return f"{prev.order.number} has a due date, this order none"
    if rule is DispatchRule.EDD:
        return f"due {_fmt(prev.order.due)} is earlier than {_fmt(cand.order.due)}"
    if rule is DispatchRule.CRITICAL_RATIO:
        return f"critical ratio {prev.rule_value:.2f} is below {cand.rule_value:.2f}"
    return f"processing {_hours(prev.processing_s)} is shorter than {_hours(cand.processing_s)}"


def _rule_name(rule: DispatchRule) -> str:
    return {
        DispatchRule.EDD: "due date",
        DispatchRule.CRITICAL_RATIO: "critical ratio",
        DispatchRule.SPT: "processing time",
        DispatchRule.FIFO: "",
    }[rule]


def _class_name(priority_class: str | None) -> str:
    return f"class {priority_class}" if priority_class else "no class"


def _fmt(instant: datetime | None) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if instant else "unknown"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"
