"""One call for the planning job: dispatch, learned cycles, ETAs, late and shortage alerts.

``build_plan`` chains the pure steps the way the central scheduler job needs them:

1. effective cycle per (machine, item) of the orders: learned cycle (or routing ideal) ÷
   bounded recent efficiency (``central.domain.throughput``);
2. dispatch queues per machine with those cycles (``central.domain.dispatch``); work orders
   in a done status count as done predecessors, as do the numbers in ``done``;
3. ETAs: each machine's ``MachineQueue.sequence`` walked through the calendar from ``now``
   (``central.domain.eta``), held orders noted with their reasons;
4. sales-order ETAs, late alerts, and purchase proposals needed by the planned starts
   (``central.domain.alerts``).

Public API::

    build_plan(orders, *, now, calendar, production=(), oee=(), stock=(), sales_orders=(),
               done=(), policies=(), incoming=None, settings=PlanSettings()) -> Plan
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from central.domain._checks import require_fraction, require_positive
from central.domain.alerts import (
    ItemPolicy,
    LateAlert,
    PurchaseProposal,
    late_alerts,
    material_shortages,
)
from central.domain.calendar import WorkingCalendar
from central.domain.dispatch import DispatchRule, MachineQueue, dispatch
from central.domain.errors import InvalidInput
from central.domain.eta import (
    OrderEta,
    SalesOrder,
    SalesOrderEta,
    sales_order_etas,
    schedule_queues,
)
from central.domain.orders import DONE_STATUSES, OpenOrder
from central.domain.stock import StockLot, stock_by_item
from central.domain.throughput import (
    LEARN_WINDOW,
    LOOKBACK_S,
    MIN_EFFICIENCY,
    NO_LOSS,
    Efficiency,
    OeeReport,
    ProductionReport,
    cycle_estimate,
    effective_cycle_s,
    learn_cycle_times,
    recent_efficiency,
)


@dataclass(frozen=True)
class PlanSettings:
    rule: DispatchRule = DispatchRule.EDD
    learn_window: int = LEARN_WINDOW
    efficiency_lookback_s: float = LOOKBACK_S
    min_efficiency: float = MIN_EFFICIENCY
    default_efficiency: Efficiency = NO_LOSS

    def __post_init__(self) -> None:
        if self.learn_window < 1:
            raise InvalidInput(
                "PlanSettings.learn_window", f"must be >= 1, got {self.learn_window}"
            )
        require_positive("PlanSettings.efficiency_lookback_s", self.efficiency_lookback_s)
        require_fraction("PlanSettings.min_efficiency", self.min_efficiency)


@dataclass(frozen=True)
class Plan:
    """Everything the planner UI, the dispatch endpoint and the alert job need.

    ``cycle_s`` is the effective seconds per part used per (machine, item).
    """

    queues: Mapping[str, MachineQueue]
    etas: Mapping[str, OrderEta]
    sales_orders: Mapping[str, SalesOrderEta]
    late: tuple[LateAlert, ...]
    shortages: tuple[PurchaseProposal, ...]
    cycle_s: Mapping[tuple[str, str], float]


def build_plan(
    orders: Sequence[OpenOrder],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    production: Iterable[ProductionReport] = (),
    oee: Iterable[OeeReport] = (),
    stock: Iterable[StockLot] = (),
    sales_orders: Iterable[SalesOrder] = (),
    done: Collection[str] = frozenset(),
    policies: Iterable[ItemPolicy] = (),
    incoming: Mapping[str, float] | None = None,
    settings: PlanSettings = PlanSettings(),
) -> Plan:
    """Plan every order from ``now`` (see module doc); pure: same inputs, same plan."""
    cycles = effective_cycles(orders, production, oee, now=now, settings=settings)
    finished = frozenset(done) | {o.number for o in orders if o.status in DONE_STATUSES}
    on_hand = stock_by_item(stock)
    queues = dispatch(
        orders,
        now=now,
        rule=settings.rule,
        done=finished,
        stock=on_hand,
        cycle_s=cycles,
        calendar=calendar,
    )
    held = {h.number: h.reasons for q in queues.values() for h in q.held}
    etas = schedule_queues(
        orders,
        {m: q.sequence for m, q in queues.items()},
        now=now,
        calendar=calendar,
        cycle_s=cycles,
        done=finished,
        notes=held,
    )
    sales = sales_order_etas(sales_orders, orders, etas)
    shortages = material_shortages(
        orders,
        on_hand,
        now=now,
        starts={n: e.start for n, e in etas.items()},
        policies={p.item: p for p in policies},
        incoming=incoming,
    )
    late = late_alerts(etas.values(), sales.values())
    return Plan(queues, etas, sales, late, shortages, cycles)


def effective_cycles(
    orders: Iterable[OpenOrder],
    production: Iterable[ProductionReport],
    oee: Iterable[OeeReport],
    *,
    now: datetime,
    settings: PlanSettings = PlanSettings(),
) -> dict[tuple[str, str], float]:
    """Effective seconds per part for every (machine, item) among ``orders``."""
    learned = learn_cycle_times(production, window=settings.learn_window)
    efficiency = recent_efficiency(oee, now=now, lookback_s=settings.efficiency_lookback_s)
    cycles: dict[tuple[str, str], float] = {}
    for order in orders:
        key = (order.machine, order.item)
        if key not in cycles:
            estimate = cycle_estimate(learned, order.machine, order.item, order.ideal_cycle_s)
            eff = efficiency.get(order.machine, settings.default_efficiency)
            cycles[key] = effective_cycle_s(estimate, eff, min_efficiency=settings.min_efficiency)
    return cycles
