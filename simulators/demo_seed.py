"""Seed a small plant through central's planning API (plain HTTP, as a planner would).

Customers of priority classes A, B and C; components and finished items with BOMs (backflushed
per good part) and routings on the demo machines; sales orders; one or more released work
orders per machine. Numbers are stable (``WO-1001``...) so the simulators' scenario can name
the same orders. Component stock is received (``POST /api/v1/stock/receipts``) before the
orders are released: what the orders' BOMs need times :data:`STOCK_COVER`, so the components
fall from a positive level as the machines consume them and never run out in the demo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


class SeedError(Exception):
    """Central refused a seed request."""


@dataclass(frozen=True)
class OrderSeed:
    number: str
    item: str
    qty: int
    machine: str
    customer: str
    due_days: float = 2.0


@dataclass(frozen=True)
class ItemSeed:
    code: str
    name: str
    machine: str
    ideal_cycle_s: float
    bom: tuple[tuple[str, float], ...]  # (component, qty per part), all backflushed


CUSTOMERS = (
    ("ACME", "Acme Aerospace", "A"),
    ("BOLT", "Bolt Motors", "B"),
    ("CASA", "Casa Home", "C"),
)
COMPONENTS = (
    ("SHEET-2MM", "Steel sheet 2 mm", "pcs"),
    ("RIVET-M4", "Rivet M4", "pcs"),
    ("BAR-40", "Steel bar 40 mm", "m"),
    ("RESIN-7", "Resin 7", "kg"),
)
ITEMS = (
    ItemSeed("BRACKET-10", "Bracket", "press-01", 1.0, (("SHEET-2MM", 1.0), ("RIVET-M4", 4.0))),
    ItemSeed("SHAFT-20", "Shaft", "lathe-02", 4.0, (("BAR-40", 0.25),)),
    ItemSeed("PANEL-30", "Cured panel", "oven-03", 30.0, (("RESIN-7", 0.5),)),
)
STOCK_COVER = 1.5  # received stock / what the seeded orders need
ORDERS = (
    OrderSeed("WO-1001", "BRACKET-10", 500, "press-01", "ACME", 1),
    OrderSeed("WO-1004", "BRACKET-10", 300, "press-01", "CASA", 3),
    OrderSeed("WO-1002", "SHAFT-20", 120, "lathe-02", "BOLT", 2),
    OrderSeed("WO-1005", "SHAFT-20", 80, "lathe-02", "CASA", 4),
    OrderSeed("WO-1003", "PANEL-30", 40, "oven-03", "CASA", 2),
)


class Planner:
    """A tiny planning-API client (bearer token) used by the demo and the end-to-end tests."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 15.0) -> None:
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Planner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        if response.status_code >= 400:
            raise SeedError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def work_order(self, number: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/v1/work-orders/{number}"))

    def patch_order(self, number: str, **fields: Any) -> dict[str, Any]:
        revision = self.work_order(number)["revision"]
        return dict(
            self.call(
                "PATCH",
                f"/api/v1/work-orders/{number}",
                json=fields,
                headers={"If-Match": f'"{revision}"'},
            )
        )

    def stock(self) -> dict[str, float]:
        """Stock per item, summed over lots."""
        totals: dict[str, float] = {}
        for row in self.call("GET", "/api/v1/stock", params={"limit": 1000}):
            totals[row["item"]] = totals.get(row["item"], 0.0) + float(row["qty"])
        return totals


def seed_plant(
    planner: Planner,
    edge_id: str,
    machines: dict[str, float],
    *,
    items: tuple[ItemSeed, ...] = ITEMS,
    orders: tuple[OrderSeed, ...] = ORDERS,
    now: datetime | None = None,
) -> list[str]:
    """Create the master data and release the orders; return the work-order numbers."""
    now = now or datetime.now(UTC)
    for machine, cycle in machines.items():
        planner.call(
            "POST",
            "/api/v1/machines",
            json={"id": machine, "edge_id": edge_id, "ideal_cycle_s": cycle},
        )
    for code, name, cls in CUSTOMERS:
        planner.call(
            "POST", "/api/v1/customers", json={"code": code, "name": name, "priority_class": cls}
        )
    for code, name, uom in COMPONENTS:
        planner.call(
            "POST",
            "/api/v1/items",
            json={"code": code, "name": name, "uom": uom, "kind": "component"},
        )
    for item in items:
        planner.call("POST", "/api/v1/items", json=_item(item))
    uoms = {code: uom for code, _name, uom in COMPONENTS}
    for n, (component, qty) in enumerate(sorted(component_receipts(items, orders).items()), 1):
        receipt = {"item": component, "lot": f"REC-{n:04d}", "qty": qty, "uom": uoms[component]}
        planner.call("POST", "/api/v1/stock/receipts", json=receipt | {"reference": "demo seed"})
    numbers = []
    for n, order in enumerate(orders, start=1):
        due = now + timedelta(days=order.due_days)
        planner.call(
            "POST",
            "/api/v1/sales-orders",
            json={
                "number": f"SO-{n:04d}",
                "customer": order.customer,
                "item": order.item,
                "qty": order.qty,
                "requested_date": due.isoformat(),
            },
        )
        planner.call(
            "POST",
            "/api/v1/work-orders",
            json={
                "number": order.number,
                "item": order.item,
                "qty": order.qty,
                "machine": order.machine,
                "sales_order": f"SO-{n:04d}",
                "due": due.isoformat(),
            },
        )
        planner.call("POST", f"/api/v1/work-orders/{order.number}/release")
        numbers.append(order.number)
    return numbers


def component_receipts(
    items: tuple[ItemSeed, ...] = ITEMS, orders: tuple[OrderSeed, ...] = ORDERS
) -> dict[str, float]:
    """Quantity of each component :func:`seed_plant` receives: the orders' BOM need times
    :data:`STOCK_COVER`, rounded up to a whole unit."""
    boms = {item.code: item.bom for item in items}
    need: dict[str, float] = {}
    for order in orders:
        for component, qty_per in boms[order.item]:
            need[component] = need.get(component, 0.0) + qty_per * order.qty
    return {c: float(math.ceil(q * STOCK_COVER)) for c, q in need.items()}


def _item(item: ItemSeed) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "kind": "finished",
        "bom": [{"component": c, "qty_per": q, "backflush": True} for c, q in item.bom],
        "routing": [{"machine": item.machine, "ideal_cycle_s": item.ideal_cycle_s}],
    }
