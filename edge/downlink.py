"""Downlink: write a machine's active order and target quantity to its PLC.

Pending writes live in the ``downlink`` table (see :mod:`edge.orders`), so a write that fails,
or that the process never got to because it stopped, is retried after a restart. Each machine
retries with its own capped exponential backoff and full jitter; every failure is logged once
(and its recovery once), counted in ``edge_downlink_failures_total`` and in the source's
``errors`` (``downlink_failed``) shown on ``/health``. Nothing is dropped: a write is only
marked done when the connector confirmed it, or superseded by a newer order.

Values on the wire (INTERFACES.md): OPC UA writes the work-order number as a String and the
target as the node's own type; Modbus writes the numeric part of the number (its last run of
digits) and the target as the registers' configured type. ``None`` clears: "" / 0.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

from connectors.backoff import Backoff
from connectors.base import Connector, ConnectorError
from edge.config import MachineConfig
from edge.logs import event
from edge.orders import downlink_pending, downlink_result
from edge.writer import StoreWriter

logger = logging.getLogger("edge.downlink")

ConnectorLookup = Callable[[str], Connector | None]


def order_number(order: str | None) -> int:
    """Numeric part of a work-order number (its last run of digits), 0 without one."""
    if not order:
        return 0
    digits = re.findall(r"\d+", order)
    return int(digits[-1]) if digits else 0


def wire_values(
    machine: MachineConfig, order: str | None, target: int | None
) -> list[tuple[str, float | str]]:
    """(signal, value) writes for a machine, in order: the order first, then the target."""
    signals = machine.source.signals
    writes: list[tuple[str, float | str]] = []
    if "order" in signals:
        if machine.source.protocol == "opcua":
            writes.append(("order", order or ""))
        else:
            writes.append(("order", float(order_number(order))))
    if "target" in signals:
        writes.append(("target", float(target or 0)))
    return writes


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """An order/target the PLC of a machine does not show yet."""

    work_order: str | None
    target: int | None
    attempts: int


@dataclass(slots=True)
class DownlinkStatus:
    failing: dict[str, str] = field(default_factory=dict)  # machine -> last error
    pending: dict[str, PendingWrite] = field(default_factory=dict)  # after the last pass
    written: int = 0


class Downlink:
    """Writes pending order/target values through the machines' live connectors."""

    def __init__(
        self,
        machines: Mapping[str, MachineConfig],
        writer: StoreWriter,
        connector: ConnectorLookup,
        *,
        registry: CollectorRegistry | None = None,
        on_failure: Callable[[str], None] | None = None,
        poll_s: float = 0.25,
        backoff_cap_s: float = 15.0,
    ) -> None:
        self.status = DownlinkStatus()
        self._machines = dict(machines)
        self._writer = writer
        self._connector = connector
        self._on_failure = on_failure
        self._poll_s = poll_s
        self._backoff = {
            m: Backoff(base_s=0.5, cap_s=backoff_cap_s, rng=random.Random()) for m in machines
        }
        self._not_before: dict[str, float] = {}
        self._tried_with: dict[str, Connector | None] = {}  # connector of the last attempt
        self._failures = Counter(
            "edge_downlink_failures",
            "Failed writes of an order/target to a PLC (retried)",
            ["machine"],
            registry=registry,
        )
        self._pending = Gauge(
            "edge_downlink_pending",
            "Machines whose PLC does not show the active order yet",
            registry=registry,
        )

    async def run(self) -> None:
        while True:
            await self.write_pending()
            await asyncio.sleep(self._poll_s)

    async def write_pending(self) -> int:
        """One pass over the pending writes; return how many machines were written."""
        pending = await self._writer.call(downlink_pending)
        self._pending.set(len(pending))
        left: dict[str, PendingWrite] = {}
        done = 0
        now = time.monotonic()
        for machine, order, target, attempts in pending:
            if machine not in self._machines:
                continue
            left[machine] = PendingWrite(order, target, attempts)
            connector = self._connector(machine)
            # a new connection (the source reconnected) is worth a try before the backoff ends
            fresh = connector is not None and connector is not self._tried_with.get(machine)
            if self._not_before.get(machine, 0.0) > now and not fresh:
                continue
            self._tried_with[machine] = connector
            error = await self._write(connector, machine, order, target)
            await self._writer.call(
                downlink_result,
                machine=machine,
                work_order=order,
                error=error,
                now_ns=time.time_ns(),
            )
            if error is None:
                done += 1
                del left[machine]
                self._succeeded(machine, order, target)
            else:
                left[machine] = PendingWrite(order, target, attempts + 1)
                self._failed(machine, error)
        self.status.pending = left
        return done

    async def _write(
        self, connector: Connector | None, machine: str, order: str | None, target: int | None
    ) -> str | None:
        if connector is None:
            return "source not connected"
        try:
            for signal, value in wire_values(self._machines[machine], order, target):
                await connector.write(signal, value)
        except (ConnectorError, OSError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def _succeeded(self, machine: str, order: str | None, target: int | None) -> None:
        self._backoff[machine].reset()
        self._not_before.pop(machine, None)
        self.status.written += 1
        if self.status.failing.pop(machine, None) is not None:
            event(logger, logging.INFO, "downlink recovered", machine=machine)
        event(logger, logging.INFO, "downlink written", machine=machine, order=order, target=target)

    def _failed(self, machine: str, error: str) -> None:
        self._failures.labels(machine=machine).inc()
        if machine not in self.status.failing:
            event(logger, logging.ERROR, "downlink failed", machine=machine, reason=error)
        self.status.failing[machine] = error
        self._not_before[machine] = time.monotonic() + self._backoff[machine].next_delay()
        if self._on_failure is not None:
            self._on_failure(machine)
