"""In-memory :class:`~edge.tablet.services.TabletServices`: the double for tests and demos.

Keeps an ``outbox`` list of ``(seq, kind, body)`` exactly as the store-backed implementation
writes them, so tests can assert what an operator action produced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.tablet import plans, rules
from edge.tablet.errors import UnknownMachine
from edge.tablet.models import (
    DispatchEntry,
    MachineTile,
    OrderAction,
    OrderChange,
    PendingStop,
    QualityResult,
    QualitySpec,
    Reason,
    Receipt,
    ShiftSeries,
)
from edge.tablet.once import Once
from edge.tablet.services import with_active_order

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class MemoryMachine:
    """Mutable state of one machine in the double."""

    tile: MachineTile
    dispatch: list[DispatchEntry] = field(default_factory=list)
    stops: list[PendingStop] = field(default_factory=list)
    specs: dict[str, list[QualitySpec]] = field(default_factory=dict)  # order -> specs
    results: list[QualityResult] = field(default_factory=list)
    changes: list[OrderChange] = field(default_factory=list)
    series: ShiftSeries | None = None
    ideal_cycle_s: float = 1.0


class MemoryTabletServices:
    def __init__(
        self,
        machines: Mapping[str, MemoryMachine],
        *,
        stop_reasons: Sequence[Reason] = (),
        scrap_reasons: Sequence[Reason] = (),
        clock: Clock = _utcnow,
    ) -> None:
        self._machines = dict(machines)
        self._stop_reasons = tuple(stop_reasons)
        self._scrap_reasons = tuple(scrap_reasons)
        self._clock = clock
        self._once = Once()
        self.outbox: list[tuple[int, str, dict[str, Any]]] = []

    # --- reading ---------------------------------------------------------------------------
    def _get(self, machine_id: str) -> MemoryMachine:
        try:
            return self._machines[machine_id]
        except KeyError:
            raise UnknownMachine(machine=machine_id) from None

    async def machines(self) -> Sequence[MachineTile]:
        return [m.tile for m in self._machines.values()]

    async def machine(self, machine_id: str) -> MachineTile:
        return self._get(machine_id).tile

    async def dispatch_list(self, machine_id: str) -> Sequence[DispatchEntry]:
        return tuple(self._get(machine_id).dispatch)

    async def pending_stops(self, machine_id: str) -> Sequence[PendingStop]:
        return tuple(self._get(machine_id).stops)

    def add_stop(self, stop: PendingStop) -> None:
        """The machine stopped (what the edge's analytics would record): newest first."""
        self._get(stop.machine).stops.insert(0, stop)

    async def order_changes(self, machine_id: str) -> Sequence[OrderChange]:
        return tuple(self._get(machine_id).changes)

    async def quality_specs(self, machine_id: str) -> Sequence[QualitySpec]:
        m = self._get(machine_id)
        current = rules.active_order(m.dispatch)
        return tuple(m.specs.get(current.number, ())) if current else ()

    async def quality_results(self, machine_id: str) -> Sequence[QualityResult]:
        return tuple(reversed(self._get(machine_id).results))

    async def shift_series(self, machine_id: str, now: datetime) -> ShiftSeries:
        m = self._get(machine_id)
        if m.series is not None:
            return m.series
        # no shift running and nothing seen yet: the last hour, empty
        return ShiftSeries(
            start=now - timedelta(hours=1), end=now, now=now, ideal_cycle_s=m.ideal_cycle_s
        )

    def stop_reasons(self) -> Sequence[Reason]:
        return self._stop_reasons

    def scrap_reasons(self) -> Sequence[Reason]:
        return self._scrap_reasons

    # --- actions ---------------------------------------------------------------------------
    def _store(self, key: str, plan: plans.Plan, at: datetime) -> Receipt:
        seq = len(self.outbox)
        for kind, body in plan.records:
            seq += 1
            self.outbox.append((seq, kind, body))
        return plan.receipt(key=key, seq=seq, at=at)

    async def order_action(
        self, *, machine_id: str, order: str, action: OrderAction, operator: str, key: str
    ) -> Receipt:
        m = self._get(machine_id)

        async def act() -> Receipt:
            plan = plans.order(
                machine=machine_id,
                dispatch=m.dispatch,
                number=order,
                action=action,
                operator=operator,
            )
            receipt = self._store(key, plan, self._clock())
            entry = rules.find_order(m.dispatch, order)
            assert plan.new_status is not None
            m.dispatch[m.dispatch.index(entry)] = dataclasses.replace(entry, status=plan.new_status)
            self._refresh_tile(m)
            return receipt

        return await self._once.run(key, act)

    async def confirm_change(
        self, *, machine_id: str, order: str, operator: str, key: str
    ) -> Receipt:
        m = self._get(machine_id)

        async def act() -> Receipt:
            change = plans.pending_change(m.changes, order)
            receipt = self._store(
                key, plans.confirm_change(change=change, operator=operator), self._clock()
            )
            entry = rules.find_order(m.dispatch, order)
            if change.kind == "cancel":
                m.dispatch.remove(entry)
            else:
                m.dispatch[m.dispatch.index(entry)] = dataclasses.replace(
                    entry, qty=change.target or entry.qty
                )
            m.changes.remove(change)
            self._refresh_tile(m)
            return receipt

        return await self._once.run(key, act)

    async def declare_counts(
        self,
        *,
        machine_id: str,
        good: int,
        scrap: int,
        scrap_reason: str | None,
        operator: str,
        key: str,
    ) -> Receipt:
        m = self._get(machine_id)

        async def act() -> Receipt:
            at = self._clock()
            plan = plans.counts(
                machine=machine_id,
                dispatch=m.dispatch,
                good=good,
                scrap=scrap,
                scrap_reason=scrap_reason,
                reasons=self._scrap_reasons,
                operator=operator,
                at=at,
            )
            receipt = self._store(key, plan, at)
            current = rules.active_order(m.dispatch)
            if current is not None:
                updated = dataclasses.replace(
                    current, qty_good=current.qty_good + good, qty_scrap=current.qty_scrap + scrap
                )
                m.dispatch[m.dispatch.index(current)] = updated
            self._refresh_tile(m)
            return receipt

        return await self._once.run(key, act)

    async def justify_stop(
        self, *, machine_id: str, stop_id: str, reason: str, operator: str, key: str
    ) -> Receipt:
        m = self._get(machine_id)

        async def act() -> Receipt:
            stop = plans.pending_stop(m.stops, stop_id)
            plan = plans.stop(
                stop=stop,
                reason=reason,
                reasons=self._stop_reasons,
                dispatch=m.dispatch,
                operator=operator,
            )
            receipt = self._store(key, plan, self._clock())
            m.stops.remove(stop)
            return receipt

        return await self._once.run(key, act)

    async def consume(
        self,
        *,
        machine_id: str,
        item: str,
        lot: str,
        qty: float,
        uom: str,
        operator: str,
        key: str,
    ) -> Receipt:
        m = self._get(machine_id)

        async def act() -> Receipt:
            plan = plans.consume(
                machine=machine_id,
                dispatch=m.dispatch,
                item=item,
                lot=lot,
                qty=qty,
                uom=uom,
                operator=operator,
            )
            return self._store(key, plan, self._clock())

        return await self._once.run(key, act)

    async def record_quality(
        self, *, machine_id: str, characteristic: str, value: float, operator: str, key: str
    ) -> Receipt:
        m = self._get(machine_id)
        specs = await self.quality_specs(machine_id)

        async def act() -> Receipt:
            plan, spec = plans.quality(
                machine=machine_id,
                dispatch=m.dispatch,
                specs=specs,
                characteristic=characteristic,
                value=value,
                operator=operator,
            )
            at = self._clock()
            receipt = self._store(key, plan, at)
            m.results.append(
                QualityResult(
                    characteristic=characteristic,
                    value=value,
                    verdict=spec.verdict(value),
                    at=at,
                    operator=operator,
                    lower=spec.lower,
                    upper=spec.upper,
                    unit=spec.unit,
                )
            )
            return receipt

        return await self._once.run(key, act)

    def _refresh_tile(self, m: MemoryMachine) -> None:
        m.tile = with_active_order(m.tile, m.dispatch)
