"""Stock on hand, by item and lot, as planning reads it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class StockLot:
    item: str
    lot: str
    qty: float


def stock_by_item(lots: Iterable[StockLot]) -> dict[str, float]:
    """On-hand quantity per item, summed over its lots."""
    totals: dict[str, float] = {}
    for lot in lots:
        totals[lot.item] = totals.get(lot.item, 0.0) + lot.qty
    return totals
