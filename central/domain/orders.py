"""What the planner knows about one work order: the input of dispatch, ETA and alerts.

H-central builds one :class:`OpenOrder` per work order from its tables (the work order, its
routing operation, its customer's priority class, its BOM lines and the consumption booked
against it) and passes the same objects to every planning function.

Quantities are in the item's unit of measure; times in seconds; instants timezone-aware.

Component need of an order (what it still has to draw from stock), per BOM line::

    need = qty_per_unit × remaining_qty − unused_issue
    remaining_qty = max(0, qty − qty_good)
    unused_issue  = max(0, consumed − qty_per_unit × (qty_good + qty_scrap))

``unused_issue`` is material already booked to the order but not yet turned into reported
parts (a lot loaded at the machine ahead of production): it no longer sits in stock, so it is
not needed again. Example: 100 units at 2 kg/unit, 30 good + 5 scrap made, 90 kg consumed →
remaining 70, unused issue 90 − 2 × 35 = 20, need 2 × 70 − 20 = 120 kg.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from central.domain._checks import require_aware, require_non_negative, require_positive
from central.domain.errors import InvalidInput

READY_STATUSES = frozenset({"released", "in_progress", "paused"})
DONE_STATUSES = frozenset({"completed", "closed", "closed_short"})
KNOWN_STATUSES = READY_STATUSES | DONE_STATUSES | {"draft", "cancelled"}
PRIORITY_CLASSES = ("A", "B", "C")


@dataclass(frozen=True)
class ComponentNeed:
    """One BOM line of an order: ``qty_per_unit`` of ``item`` per finished unit.

    ``consumed`` is what consumption records already booked against this order for the item.
    """

    item: str
    qty_per_unit: float
    consumed: float = 0.0

    def __post_init__(self) -> None:
        require_non_negative(f"ComponentNeed[{self.item}].qty_per_unit", self.qty_per_unit)
        require_non_negative(f"ComponentNeed[{self.item}].consumed", self.consumed)


@dataclass(frozen=True)
class OpenOrder:
    """A work order as planning sees it.

    ``status`` is one of KNOWN_STATUSES; only READY_STATUSES are dispatched and scheduled.
    ``ideal_cycle_s`` is the routing's ideal cycle on ``machine`` (fallback when nothing was
    learned yet); ``setup_s`` the routing's setup time, spent only if the order has not started.
    ``priority_class`` is the customer's class A/B/C (None ranks after C); ``priority`` the
    planner's number, higher first within a class (see ``central.domain.dispatch``).
    ``released_at`` is the FIFO time. ``predecessors`` are work-order numbers that must be done
    first. ``components_available`` overrides the stock check when not None.
    """

    number: str
    item: str
    machine: str
    status: str
    qty: float
    ideal_cycle_s: float
    qty_good: float = 0.0
    qty_scrap: float = 0.0
    setup_s: float = 0.0
    due: datetime | None = None
    released_at: datetime | None = None
    expedite: bool = False
    priority_class: str | None = None
    priority: int = 0
    sales_order: str | None = None
    predecessors: tuple[str, ...] = ()
    components: tuple[ComponentNeed, ...] = ()
    components_available: bool | None = None

    def __post_init__(self) -> None:
        where = f"OpenOrder[{self.number}]"
        if self.status not in KNOWN_STATUSES:
            raise InvalidInput(f"{where}.status", f"one of {sorted(KNOWN_STATUSES)} expected")
        if self.priority_class is not None and self.priority_class not in PRIORITY_CLASSES:
            raise InvalidInput(
                f"{where}.priority_class", f"A, B or C expected, got {self.priority_class!r}"
            )
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise InvalidInput(f"{where}.priority", f"an integer expected, got {self.priority!r}")
        for name in ("qty", "qty_good", "qty_scrap", "setup_s"):
            require_non_negative(f"{where}.{name}", getattr(self, name))
        require_positive(f"{where}.ideal_cycle_s", self.ideal_cycle_s)
        require_aware(f"{where}.due", self.due)
        require_aware(f"{where}.released_at", self.released_at)

    @property
    def is_ready(self) -> bool:
        return self.status in READY_STATUSES

    @property
    def remaining_qty(self) -> float:
        return max(0.0, self.qty - self.qty_good)

    @property
    def started(self) -> bool:
        return self.status == "in_progress" or self.qty_good + self.qty_scrap > 0

    @property
    def pending_setup_s(self) -> float:
        """Setup still to do: none once the order has started (the machine is set up)."""
        return 0.0 if self.started else self.setup_s

    def component_needs(self) -> dict[str, float]:
        """Quantity per item this order still has to draw from stock (see module doc)."""
        needs: dict[str, float] = {}
        made = self.qty_good + self.qty_scrap
        for line in self.components:
            unused_issue = max(0.0, line.consumed - line.qty_per_unit * made)
            need = max(0.0, line.qty_per_unit * self.remaining_qty - unused_issue)
            needs[line.item] = needs.get(line.item, 0.0) + need
        return needs

    def processing_s(self, cycle_s: float) -> float:
        """Working seconds still needed at ``cycle_s`` s per part: setup + remaining × cycle."""
        return self.pending_setup_s + self.remaining_qty * cycle_s
