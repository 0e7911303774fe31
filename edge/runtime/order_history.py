"""Which work order a machine ran at any instant, from the ``order_history`` table.

The analytics run every half second or so, and an order switch falls anywhere in between:
attributing a run's parts to the order active when the run happens would put the parts made
just before a switch on the next order. Every order change is therefore kept with the instant
it took effect (``active_order.since_ns``, set by the tablet or the order tracker), and each
part, reject and stop goes to the order active at its own timestamp. Times: UTC nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.analytics.intervals import I64
from edge.store import Transaction


@dataclass(frozen=True, slots=True)
class OrderTimeline:
    """``orders[i]`` is active from ``since_ns[i]`` (ascending) on; no order before the first."""

    since_ns: I64
    orders: tuple[str | None, ...]

    @classmethod
    def empty(cls) -> OrderTimeline:
        return cls(np.zeros(0, np.int64), ())

    def index_at(self, ts_ns: I64) -> I64:
        """Index into ``orders`` of the order active at each timestamp, -1 before the first."""
        return np.searchsorted(self.since_ns, ts_ns, side="right").astype(np.int64) - 1

    def order(self, index: int) -> str | None:
        return None if index < 0 else self.orders[index]

    def order_at(self, ts_ns: int) -> str | None:
        return self.order(int(self.index_at(np.array([ts_ns], np.int64))[0]))

    def since(self, index: int) -> int | None:
        return None if index < 0 else int(self.since_ns[index])


def record_active_orders(tx: Transaction) -> None:
    """Add the current active orders to the history (an order seen again adds nothing)."""
    tx.con.execute(
        "INSERT OR REPLACE INTO order_history "
        "SELECT machine, since_ns, work_order FROM active_order WHERE since_ns IS NOT NULL"
    )


def order_timelines(tx: Transaction) -> dict[str, OrderTimeline]:
    rows = tx.con.execute(
        "SELECT machine, since_ns, work_order FROM order_history ORDER BY machine, since_ns"
    ).fetchall()
    grouped: dict[str, list[tuple[int, str | None]]] = {}
    for machine, since, order in rows:
        grouped.setdefault(str(machine), []).append((int(since), order))
    return {
        m: OrderTimeline(np.array([s for s, _ in r], np.int64), tuple(o for _, o in r))
        for m, r in grouped.items()
    }
