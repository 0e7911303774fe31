""":class:`~edge.tablet.services.TabletServices` over the edge's DuckDB store and live view.

Reads and writes go through the store's writer thread (:class:`edge.writer.StoreWriter`); an
action returns only after its transaction committed (outbox records + declaration row + state
change together), so what the screen confirms is on disk. Live state, shift counts and OEE come
from the edge's live view (``EdgeServices.machines()``), which the jobs refresh.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from edge import orders as order_logic
from edge.config import EdgeConfig, MachineConfig
from edge.runtime.analysis import Calendar, current_shift
from edge.store import StoreError
from edge.tablet import plans, rules
from edge.tablet import store_queries as q
from edge.tablet.config import reasons_from_config
from edge.tablet.dispatch import dispatch_entries, specs_for
from edge.tablet.errors import StoreUnavailable, UnknownMachine, UnknownOrder, UnknownStop
from edge.tablet.models import (
    DispatchEntry,
    MachineTile,
    Oee,
    OrderAction,
    OrderChange,
    PendingStop,
    QualityResult,
    QualitySpec,
    Reason,
    Receipt,
    ShiftSeries,
    StateSegment,
)
from edge.tablet.once import Once
from edge.tablet.services import with_active_order
from edge.writer import StoreWriter

T = TypeVar("T")
SECOND_NS = 1_000_000_000
DAY_NS = 86_400 * SECOND_NS
RECENT_NS = 3600 * SECOND_NS  # the chart's window when no shift is running
CHART_BUCKETS = 240


class LiveRow(Protocol):
    """One machine of the live view (``edge.api.deps.MachineOut`` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def state_since(self) -> datetime | None: ...
    @property
    def good(self) -> int: ...
    @property
    def reject(self) -> int: ...
    @property
    def availability(self) -> float | None: ...
    @property
    def performance(self) -> float | None: ...
    @property
    def quality(self) -> float | None: ...
    @property
    def last_sample_at(self) -> datetime | None: ...
    @property
    def shift(self) -> str | None: ...


class LiveView(Protocol):
    async def machines(self) -> Sequence[LiveRow]: ...


def to_dt(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC)


def to_ns(when: datetime) -> int:
    return int(when.timestamp() * 1e9)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StoreTabletServices:
    def __init__(
        self,
        *,
        writer: StoreWriter,
        config: EdgeConfig,
        live: LiveView,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._writer = writer
        self._config = config
        self._machines: dict[str, MachineConfig] = {m.id: m for m in config.machines}
        self._live = live
        self._clock = clock
        self._stop_reasons, self._scrap_reasons = reasons_from_config(config)
        self._calendar = Calendar(tuple(config.shifts), config.edge.tz)
        self._once = Once(lookup=self._lookup)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await self._writer.call(fn, *args, **kwargs)
        except StoreError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def _check(self, machine_id: str) -> MachineConfig:
        try:
            return self._machines[machine_id]
        except KeyError:
            raise UnknownMachine(machine=machine_id) from None

    # --- reading -------------------------------------------------------------------------
    async def machines(self) -> Sequence[MachineTile]:
        live = {row.id: row for row in await self._live.machines()}
        stops = await self._call(q.last_stop_ends)
        return [await self._tile(m, live.get(m), stops.get(m)) for m in self._machines]

    async def machine(self, machine_id: str) -> MachineTile:
        self._check(machine_id)
        live = {row.id: row for row in await self._live.machines()}
        stops = await self._call(q.last_stop_ends)
        return await self._tile(machine_id, live.get(machine_id), stops.get(machine_id))

    async def _tile(self, machine: str, row: LiveRow | None, stop_end: int | None) -> MachineTile:
        oee = None
        if row is not None and None not in (row.availability, row.performance, row.quality):
            oee = Oee(row.availability or 0.0, row.performance or 0.0, row.quality or 0.0)
        tile = MachineTile(
            id=machine,
            state=row.state if row is not None else "unknown",
            good=row.good if row is not None else 0,
            reject=row.reject if row is not None else 0,
            oee=oee,
            last_stop_end=to_dt(stop_end) if stop_end else None,
            last_sample_at=row.last_sample_at if row is not None else None,
            state_since=row.state_since if row is not None else None,
            shift=row.shift if row is not None else None,
        )
        return with_active_order(tile, await self.dispatch_list(machine))

    async def _orders(self, machine: str) -> tuple[list[DispatchEntry], dict[str, Any]]:
        snap = await self._call(q.snapshot, machine)
        body = snap.dispatch or {}
        return dispatch_entries(snap, machine, self._config.edge.tz), body

    async def dispatch_list(self, machine_id: str) -> Sequence[DispatchEntry]:
        self._check(machine_id)
        return (await self._orders(machine_id))[0]

    async def pending_stops(self, machine_id: str) -> Sequence[PendingStop]:
        self._check(machine_id)
        since = to_ns(self._clock()) - DAY_NS
        rows = await self._call(q.pending_stops, machine_id, since)
        return [
            PendingStop(str(s), machine_id, to_dt(s), to_dt(e) if e is not None else None)
            for s, e in rows
        ]

    async def order_changes(self, machine_id: str) -> Sequence[OrderChange]:
        self._check(machine_id)
        rows = await self._call(order_logic.pending_changes, machine_id)
        return [
            OrderChange(c.machine, c.work_order, c.kind, c.target, to_dt(c.received_ns))
            for c in rows
        ]

    async def quality_specs(self, machine_id: str) -> Sequence[QualitySpec]:
        self._check(machine_id)
        entries, body = await self._orders(machine_id)
        current = rules.active_order(entries)
        if current is None:
            return []
        order = next(w for w in body.get("work_orders", []) if w["number"] == current.number)
        return specs_for(order, body.get("specs", []))

    async def quality_results(self, machine_id: str) -> Sequence[QualityResult]:
        self._check(machine_id)
        rows = await self._call(q.quality_results, machine_id)
        out = []
        for ts_ns, operator, raw in rows:
            body = _json(raw)
            s = body.get("summary", {})
            out.append(
                QualityResult(
                    characteristic=s.get("characteristic", ""),
                    value=float(s.get("value", 0)),
                    verdict=s.get("verdict", "fail"),
                    at=to_dt(int(ts_ns)),
                    operator=operator or "",
                    lower=body.get("lower"),
                    upper=body.get("upper"),
                    unit=body.get("unit") or "",
                )
            )
        return out

    async def shift_series(self, machine_id: str, now: datetime) -> ShiftSeries:
        cfg = self._check(machine_id)
        now_ns = to_ns(now)
        name, start, end = chart_window(self._calendar, now_ns)
        upto = min(end, now_ns)
        live = {row.id: row for row in await self._live.machines()}.get(machine_id)
        seen = [await self._call(q.first_seen, machine_id, start, upto)]
        if live is not None and live.state_since is not None:
            seen.append(to_ns(live.state_since))
        known = [t for t in seen if t is not None]
        origin = max(start, min(known)) if known else now_ns
        if name is None and known:  # no shift: the chart begins when the edge saw the machine
            start = origin
        step = bucket_ns(upto - start)
        seg_rows = await self._call(q.state_segments, machine_id, start, upto)
        good_rows = await self._call(q.good_per_bucket, machine_id, start, upto, step)
        points, total = [(to_dt(origin), 0)], 0
        for bucket, good in good_rows:
            total += good
            points.append((to_dt(min(start + (bucket + 1) * step, upto)), total))
        if to_ns(points[-1][0]) < upto:  # nothing made since: the count stays flat until now
            points.append((to_dt(upto), total))
        return ShiftSeries(
            start=to_dt(start),
            end=to_dt(end),
            now=now,
            ideal_cycle_s=cfg.ideal_cycle_s,
            segments=tuple(_segments(seg_rows, live, start, upto)),
            good_points=tuple(points),
            observed_from=to_dt(origin),
            shift=name,
        )

    def stop_reasons(self) -> Sequence[Reason]:
        return self._stop_reasons

    def scrap_reasons(self) -> Sequence[Reason]:
        return self._scrap_reasons

    # --- actions -------------------------------------------------------------------------
    async def _lookup(self, key: str) -> Receipt | None:
        found = await self._call(q.find_action, key)
        if found is None:
            return None
        kind, seq, ts_ns, summary = found
        return Receipt(key=key, kind=kind, seq=seq, stored_at=to_dt(ts_ns), summary=summary)

    async def _store(
        self, machine: str, operator: str, key: str, plan: plans.Plan, **kw: Any
    ) -> Receipt:
        at = self._clock()
        try:
            seq = await self._call(
                q.store_action,
                machine=machine,
                operator=operator,
                key=key,
                plan=plan,
                ts_ns=to_ns(at),
                **kw,
            )
        except LookupError:
            raise UnknownStop(stop=kw.get("stop_start_ns")) from None
        return plan.receipt(key=key, seq=seq, at=at)

    async def order_action(
        self, *, machine_id: str, order: str, action: OrderAction, operator: str, key: str
    ) -> Receipt:
        self._check(machine_id)

        async def act() -> Receipt:
            entries = await self.dispatch_list(machine_id)
            plan = plans.order(
                machine=machine_id, dispatch=entries, number=order, action=action, operator=operator
            )
            target = rules.find_order(entries, order).qty
            assert plan.new_status is not None
            change = (order, str(plan.new_status), target)
            return await self._store(
                machine_id, operator, key, plan, order_change=change, extra={"work_order": order}
            )

        return await self._once.run(key, act)

    async def confirm_change(
        self, *, machine_id: str, order: str, operator: str, key: str
    ) -> Receipt:
        self._check(machine_id)

        async def act() -> Receipt:
            change = plans.pending_change(await self.order_changes(machine_id), order)
            plan = plans.confirm_change(change=change, operator=operator)
            at = self._clock()
            try:
                seq = await self._call(
                    q.confirm_and_store,
                    machine=machine_id,
                    operator=operator,
                    key=key,
                    plan=plan,
                    ts_ns=to_ns(at),
                )
            except LookupError:
                raise UnknownOrder(order=order) from None
            return plan.receipt(key=key, seq=seq, at=at)

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
        self._check(machine_id)

        async def act() -> Receipt:
            entries = await self.dispatch_list(machine_id)
            plan = plans.counts(
                machine=machine_id,
                dispatch=entries,
                good=good,
                scrap=scrap,
                scrap_reason=scrap_reason,
                reasons=self._scrap_reasons,
                operator=operator,
                at=self._clock(),
            )
            current = rules.active_order(entries)
            extra = {"work_order": current.number if current else None}
            return await self._store(machine_id, operator, key, plan, extra=extra)

        return await self._once.run(key, act)

    async def justify_stop(
        self, *, machine_id: str, stop_id: str, reason: str, operator: str, key: str
    ) -> Receipt:
        self._check(machine_id)

        async def act() -> Receipt:
            stop = plans.pending_stop(await self.pending_stops(machine_id), stop_id)
            plan = plans.stop(
                stop=stop,
                reason=reason,
                reasons=self._stop_reasons,
                dispatch=await self.dispatch_list(machine_id),
                operator=operator,
            )
            return await self._store(machine_id, operator, key, plan, stop_start_ns=int(stop_id))

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
        self._check(machine_id)

        async def act() -> Receipt:
            plan = plans.consume(
                machine=machine_id,
                dispatch=await self.dispatch_list(machine_id),
                item=item,
                lot=lot,
                qty=qty,
                uom=uom,
                operator=operator,
            )
            return await self._store(machine_id, operator, key, plan)

        return await self._once.run(key, act)

    async def record_quality(
        self, *, machine_id: str, characteristic: str, value: float, operator: str, key: str
    ) -> Receipt:
        self._check(machine_id)

        async def act() -> Receipt:
            plan, spec = plans.quality(
                machine=machine_id,
                dispatch=await self.dispatch_list(machine_id),
                specs=await self.quality_specs(machine_id),
                characteristic=characteristic,
                value=value,
                operator=operator,
            )
            extra = {"lower": spec.lower, "upper": spec.upper, "unit": spec.unit}
            return await self._store(machine_id, operator, key, plan, extra=extra)

        return await self._once.run(key, act)


def chart_window(calendar: Calendar, now_ns: int) -> tuple[str | None, int, int]:
    """The shift chart's window: the current shift, else the last hour ending now."""
    shift = current_shift(calendar, now_ns)
    if shift.name is not None:
        return shift.name, shift.start_ns, shift.end_ns
    return None, now_ns - RECENT_NS, now_ns


def bucket_ns(span_ns: int) -> int:
    """Width of the good-count steps: about ``CHART_BUCKETS`` over the span, at least 1 s."""
    return max(SECOND_NS, span_ns // CHART_BUCKETS)


def _segments(
    rows: Sequence[tuple[Any, ...]], live: LiveRow | None, start: int, upto: int
) -> list[StateSegment]:
    """Stored state intervals clipped to ``[start, upto]``, then the live state still open."""
    segments = [
        StateSegment(to_dt(max(int(s), start)), to_dt(min(int(e), upto)), str(state))
        for s, e, state in rows
    ]
    if live is not None and live.state_since is not None:
        open_from = max(to_ns(live.state_since), to_ns(segments[-1].end) if segments else 0)
        if open_from < upto:
            segments.append(StateSegment(to_dt(max(open_from, start)), to_dt(upto), live.state))
    return segments


def _json(raw: Any) -> dict[str, Any]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    return dict(value) if isinstance(value, dict) else {}
