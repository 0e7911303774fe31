"""Per-source health: bad-input counters by reason, log-once-per-interval, status snapshots.

The clock is injected (``clock() -> seconds``, monotonic) so tests can drive time; nothing here
does I/O except the logger call, which happens at most once per reason and interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.base import ConnectionState, SourceStatus

Clock = Callable[[], float]


@dataclass(slots=True)
class BadInputCounter:
    """Counts bad input per reason; logs the first of each reason, then a summary per interval."""

    source: str
    logger: logging.Logger
    interval_s: float = 60.0
    clock: Clock = time.monotonic
    counts: dict[str, int] = field(default_factory=dict)
    _logged_at: dict[str, float] = field(default_factory=dict)
    _logged_count: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, detail: str = "", n: int = 1) -> bool:
        """Count ``n`` occurrences; returns True when this call logged."""
        total = self.counts.get(reason, 0) + n
        self.counts[reason] = total
        now = self.clock()
        last = self._logged_at.get(reason)
        if last is not None and now - last < self.interval_s:
            return False
        since = total - self._logged_count.get(reason, 0)
        self._logged_at[reason] = now
        self._logged_count[reason] = total
        # Details may quote payload fragments (never credentials: those never reach decoders).
        self.logger.warning(
            "source %s: bad input %s (%d since last report, %d total)%s",
            self.source,
            reason,
            since,
            total,
            f": {detail}" if detail else "",
        )
        return True


@dataclass(slots=True)
class StatusTracker:
    """Mutable status of one connector; ``snapshot()`` gives the frozen view for /health."""

    name: str
    bad: BadInputCounter
    wall_clock_ns: Callable[[], int] = time.time_ns
    state: ConnectionState = ConnectionState.idle
    last_error: str | None = None
    connected_since_ns: int | None = None
    last_sample_ns: int | None = None
    samples: int = 0

    def set_state(self, state: ConnectionState, error: str | None = None) -> None:
        if state is ConnectionState.connected and self.state is not ConnectionState.connected:
            self.connected_since_ns = self.wall_clock_ns()
        elif state is not ConnectionState.connected:
            self.connected_since_ns = None
        if error is not None:
            self.last_error = error
        self.state = state

    def count_samples(self, n: int, last_ts_ns: int) -> None:
        self.samples += n
        self.last_sample_ns = last_ts_ns

    def snapshot(self) -> SourceStatus:
        return SourceStatus(
            name=self.name,
            state=self.state,
            last_error=self.last_error,
            connected_since_ns=self.connected_since_ns,
            last_sample_ns=self.last_sample_ns,
            samples=self.samples,
            errors=dict(self.bad.counts),
        )
