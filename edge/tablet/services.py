"""The seam between the tablet pages and the edge: what the pages read and what operators do.

Two implementations: :class:`edge.tablet.memory.MemoryTabletServices` (tests, demos without a
plant) and :class:`edge.tablet.store_services.StoreTabletServices` over the edge's DuckDB store.

Every action takes the operator id and an idempotency ``key`` (one per rendered form). An
implementation stores the action in the edge outbox and returns the :class:`Receipt` only once
it is committed; a second call with the same key stores nothing and returns the first receipt
with ``duplicate=True``. Errors are :mod:`edge.tablet.errors`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from edge.tablet import rules
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


class TabletServices(Protocol):
    # --- reading -------------------------------------------------------------------------
    async def machines(self) -> Sequence[MachineTile]: ...

    async def machine(self, machine_id: str) -> MachineTile: ...

    async def dispatch_list(self, machine_id: str) -> Sequence[DispatchEntry]: ...

    async def pending_stops(self, machine_id: str) -> Sequence[PendingStop]: ...

    async def order_changes(self, machine_id: str) -> Sequence[OrderChange]: ...

    async def quality_specs(self, machine_id: str) -> Sequence[QualitySpec]: ...

    async def quality_results(self, machine_id: str) -> Sequence[QualityResult]: ...

    async def shift_series(self, machine_id: str, now: datetime) -> ShiftSeries: ...

    def stop_reasons(self) -> Sequence[Reason]: ...

    def scrap_reasons(self) -> Sequence[Reason]: ...

    # --- operator actions (stored in the outbox before they return) ----------------------
    async def order_action(
        self, *, machine_id: str, order: str, action: OrderAction, operator: str, key: str
    ) -> Receipt: ...

    async def confirm_change(
        self, *, machine_id: str, order: str, operator: str, key: str
    ) -> Receipt: ...

    async def declare_counts(
        self,
        *,
        machine_id: str,
        good: int,
        scrap: int,
        scrap_reason: str | None,
        operator: str,
        key: str,
    ) -> Receipt: ...

    async def justify_stop(
        self, *, machine_id: str, stop_id: str, reason: str, operator: str, key: str
    ) -> Receipt: ...

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
    ) -> Receipt: ...

    async def record_quality(
        self, *, machine_id: str, characteristic: str, value: float, operator: str, key: str
    ) -> Receipt: ...


def with_active_order(tile: MachineTile, dispatch: Sequence[DispatchEntry]) -> MachineTile:
    """``tile`` showing the machine's active order (none: no order, no target, 0 good)."""
    current = rules.active_order(dispatch)
    return dataclasses.replace(
        tile,
        active_order=current.number if current else None,
        item=current.item if current else None,
        target_qty=current.qty if current else None,
        order_good=current.qty_good if current else 0,
    )
