"""The demo's terminal view: one row per machine (state, order, progress, OEE), over HTTP.

State and OEE come from the edge (``GET /api/v1/machines``), the order's progress as central
booked it (``GET /api/v1/work-orders/{number}``): the row shows the whole chain at work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from rich.table import Table

STATE_STYLE = {
    "running": "green",
    "idle": "yellow",
    "setup": "cyan",
    "stopped": "red",
    "fault": "bold red",
    "planned_stop": "blue",
    "offline": "dim",
}


@dataclass(frozen=True)
class MachineRow:
    machine: str
    state: str
    order: str | None
    good: float | None
    scrap: float | None
    qty: float | None
    oee: float | None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f} %"


def fetch_rows(edge: httpx.Client, central: httpx.Client) -> list[MachineRow]:
    """Read the edge's machines and central's view of their active orders."""
    machines: list[dict[str, Any]] = edge.get("/api/v1/machines").raise_for_status().json()
    rows = []
    for m in machines:
        order = m.get("active_order")
        wo: dict[str, Any] = {}
        if order:
            response = central.get(f"/api/v1/work-orders/{order}")
            wo = response.json() if response.status_code == 200 else {}
        rows.append(
            MachineRow(
                machine=m["id"],
                state=m.get("state") or "unknown",
                order=order,
                good=wo.get("qty_good"),
                scrap=wo.get("qty_scrap"),
                qty=wo.get("qty"),
                oee=m.get("oee"),
            )
        )
    return rows


def render(rows: list[MachineRow], note: str = "") -> Table:
    table = Table(title="Atelier demo — live plant", caption=note or "Ctrl-C stops everything")
    for name in ("machine", "state", "work order", "progress (central)", "scrap", "OEE (shift)"):
        table.add_column(name)
    for r in rows:
        progress = "—"
        if r.good is not None and r.qty:
            progress = f"{r.good:.0f} / {r.qty:.0f}  ({100 * r.good / r.qty:.0f} %)"
        style = STATE_STYLE.get(r.state, "")
        table.add_row(
            r.machine,
            f"[{style}]{r.state}[/]" if style else r.state,
            r.order or "—",
            progress,
            "—" if r.scrap is None else f"{r.scrap:.0f}",
            _pct(r.oee),
        )
    return table


def plain(rows: list[MachineRow]) -> str:
    """One line per machine, for a non-TTY output (``--no-live``)."""
    return "\n".join(
        f"{r.machine}: {r.state} order={r.order or '-'} good={r.good} scrap={r.scrap} "
        f"qty={r.qty} oee={_pct(r.oee).strip()}"
        for r in rows
    )
