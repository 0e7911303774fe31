"""Realistic completion dates: each machine's queue walked through the working calendar.

Per machine, orders run one after the other in ``sequences[machine]`` (dispatch order: the
ranked orders then the held ones, ``MachineQueue.sequence``). The first starts at ``now``;
each next one when the previous ends, and never before its predecessors' ETAs (a predecessor
that is done, or not scheduled here at all, does not hold it back; the latter is noted). Each
order needs ``setup (if not started) + remaining qty × effective cycle`` working seconds
(``OpenOrder.processing_s``; the effective cycle per (machine, item) comes from
``central.domain.throughput.effective_cycle_s``, else the routing's ideal cycle), placed with
``add_working_seconds`` from its start. ``start`` is the first working instant of the order.

Within a machine an order is moved behind its same-machine predecessors (stable); a cycle
between queue order and precedence across machines is broken by starting the blocked order
with the earliest queue position anyway (then the lowest machine id; noted on its ETA).

Late: ``eta > due``; slack = ``due − eta`` in elapsed seconds (negative when late).
A sales order's ETA is the latest ETA of its open work orders; it is late against its
promised date, or its requested date when nothing was promised.

Public API::

    schedule_queues(orders, sequences, *, now, calendar, cycle_s=None, done=(), notes=None)
        -> dict[str, OrderEta]                                  (keyed by work-order number)
    sales_order_etas(sales_orders, orders, etas) -> dict[str, SalesOrderEta]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from central.domain._checks import require_aware
from central.domain.calendar import WorkingCalendar, add_working_seconds, next_working_instant
from central.domain.errors import InvalidInput
from central.domain.orders import OpenOrder


@dataclass(frozen=True)
class OrderEta:
    """Planned run of one work order. ``position`` is 1-based in its machine's sequence;
    ``work_s`` working seconds; ``cycle_s`` the effective seconds per part used."""

    number: str
    machine: str
    position: int
    start: datetime
    eta: datetime
    work_s: float
    cycle_s: float
    due: datetime | None
    late: bool
    slack_s: float | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SalesOrder:
    number: str
    requested: datetime | None = None
    promised: datetime | None = None

    def __post_init__(self) -> None:
        require_aware(f"SalesOrder[{self.number}].requested", self.requested)
        require_aware(f"SalesOrder[{self.number}].promised", self.promised)


@dataclass(frozen=True)
class SalesOrderEta:
    """``eta`` is None when no open work order of the sales order is scheduled (all done, or
    none released yet); ``unplanned`` lists its open work orders without an ETA (drafts)."""

    number: str
    eta: datetime | None
    commitment: datetime | None
    commitment_kind: Literal["promised", "requested"] | None
    late: bool
    slack_s: float | None
    work_orders: tuple[str, ...]
    unplanned: tuple[str, ...]


def schedule_queues(
    orders: Iterable[OpenOrder],
    sequences: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    cycle_s: Mapping[tuple[str, str], float] | None = None,
    done: Collection[str] = frozenset(),
    notes: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, OrderEta]:
    """Walk every machine's sequence from ``now`` (see module doc). ``notes`` (e.g. the held
    reasons from dispatch) are copied onto the orders' ETAs."""
    require_aware("now", now)
    by_number = {o.number: o for o in orders}
    queues: dict[str, list[str]] = {}
    for machine, seq in sequences.items():
        for number in seq:
            if number not in by_number:
                raise InvalidInput(f"sequences[{machine}]", f"unknown work order {number!r}")
        queues[machine] = _precedence_order(list(seq), by_number)
    walk = _Walk(by_number, now, calendar, cycle_s or {}, done, notes or {})
    walk.run(queues)
    return walk.out


class _Walk:
    """Mutable state of one schedule_queues call (never escapes it)."""

    def __init__(
        self,
        orders: Mapping[str, OpenOrder],
        now: datetime,
        calendar: WorkingCalendar,
        cycles: Mapping[tuple[str, str], float],
        done: Collection[str],
        notes: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.orders, self.now, self.calendar = orders, now, calendar
        self.cycles, self.done, self.notes = cycles, done, notes
        self.out: dict[str, OrderEta] = {}
        self.planned: set[str] = set()

    def run(self, queues: dict[str, list[str]]) -> None:
        self.planned = {n for seq in queues.values() for n in seq}
        free = dict.fromkeys(queues, self.now)
        heads = dict.fromkeys(queues, 0)
        while any(heads[m] < len(queues[m]) for m in queues):
            progressed = False
            for machine in sorted(queues):
                while heads[machine] < len(queues[machine]):
                    number = queues[machine][heads[machine]]
                    if self._waiting_for(number):
                        break
                    free[machine] = self._place(number, heads[machine] + 1, free[machine], ())
                    heads[machine] += 1
                    progressed = True
            if not progressed:
                machine = min((heads[m], m) for m in queues if heads[m] < len(queues[m]))[1]
                number = queues[machine][heads[machine]]
                forced = tuple(
                    f"started before predecessor {p} (cyclic queue order)"
                    for p in self._waiting_for(number)
                )
                free[machine] = self._place(number, heads[machine] + 1, free[machine], forced)
                heads[machine] += 1

    def _waiting_for(self, number: str) -> list[str]:
        order = self.orders[number]
        return [p for p in order.predecessors if p in self.planned and p not in self.out]

    def _place(
        self, number: str, position: int, free: datetime, extra: tuple[str, ...]
    ) -> datetime:
        order = self.orders[number]
        notes = list(self.notes.get(number, ())) + list(extra)
        not_before = free
        for pred in order.predecessors:
            if pred in self.out:
                not_before = max(not_before, self.out[pred].eta)
            elif pred not in self.done and pred not in self.planned:
                notes.append(f"predecessor {pred} not scheduled")
        cycle = self.cycles.get((order.machine, order.item), order.ideal_cycle_s)
        work_s = order.processing_s(cycle)
        start = next_working_instant(self.calendar, not_before) if work_s > 0 else not_before
        eta = add_working_seconds(self.calendar, start, work_s)
        slack = (order.due - eta).total_seconds() if order.due else None
        self.out[number] = OrderEta(
            number,
            order.machine,
            position,
            start,
            eta,
            work_s,
            cycle,
            order.due,
            late=slack is not None and slack < 0,
            slack_s=slack,
            notes=tuple(notes),
        )
        return eta


def _precedence_order(seq: list[str], orders: Mapping[str, OpenOrder]) -> list[str]:
    """Stable reorder so that no order precedes a same-machine predecessor (cycles: as is)."""
    members, emitted, out = set(seq), set[str](), []
    pending = list(seq)
    while pending:
        free = (
            i
            for i, number in enumerate(pending)
            if all(p not in members or p in emitted for p in orders[number].predecessors)
        )
        number = pending.pop(next(free, 0))
        emitted.add(number)
        out.append(number)
    return out


def sales_order_etas(
    sales_orders: Iterable[SalesOrder],
    orders: Iterable[OpenOrder],
    etas: Mapping[str, OrderEta],
) -> dict[str, SalesOrderEta]:
    """Sales-order ETA = latest ETA of its open work orders (``OpenOrder.sales_order``)."""
    members: dict[str, list[OpenOrder]] = {}
    for order in orders:
        if order.sales_order is not None:
            members.setdefault(order.sales_order, []).append(order)
    return {so.number: _sales_eta(so, members.get(so.number, []), etas) for so in sales_orders}


def _sales_eta(
    so: SalesOrder, members: list[OpenOrder], etas: Mapping[str, OrderEta]
) -> SalesOrderEta:
    scheduled = [etas[o.number].eta for o in members if o.number in etas]
    unplanned = tuple(
        o.number for o in members if o.number not in etas and (o.is_ready or o.status == "draft")
    )
    eta = max(scheduled) if scheduled else None
    kind: Literal["promised", "requested"] | None = None
    commitment = so.promised or so.requested
    if commitment is not None:
        kind = "promised" if so.promised else "requested"
    slack = (commitment - eta).total_seconds() if eta and commitment else None
    return SalesOrderEta(
        number=so.number,
        eta=eta,
        commitment=commitment,
        commitment_kind=kind,
        late=slack is not None and slack < 0,
        slack_s=slack,
        work_orders=tuple(sorted(o.number for o in members)),
        unplanned=unplanned,
    )
