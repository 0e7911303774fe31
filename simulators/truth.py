"""Ground truth of a simulated machine: every cycle end, reject, state change, order change.

Times are UTC nanoseconds (``ts_ns``). Counts are cumulative since the model started (no wrap:
wrapping is a property of the wire encoding, not of the truth). Injected protocol faults are
recorded too (kind ``injected``) so a reader can tell a deliberately bad message from a lost one;
they never change the production counters.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

EventKind = Literal["cycle", "state", "order", "injected"]


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One fact. ``count``/``reject`` are the totals right after the event."""

    ts_ns: int
    machine: str
    kind: EventKind
    count: int
    reject: int
    state: str
    rejected: bool = False
    order: str | None = None
    target: int | None = None
    cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        if not self.rejected:
            data.pop("rejected")
        data["ts"] = iso_utc(self.ts_ns)
        return data


@dataclass(frozen=True, slots=True)
class Stop:
    """A non-running interval; ``end_ns`` is None while it lasts."""

    start_ns: int
    end_ns: int | None
    state: str
    cause: str | None


def iso_utc(ts_ns: int) -> str:
    """ISO 8601 with ``Z`` and microseconds."""
    dt = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    micros = (ts_ns % 1_000_000_000) // 1000
    return dt.replace(microsecond=micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class GroundTruth:
    """Append-only record of what a machine really did."""

    machine: str
    events: list[TruthEvent] = field(default_factory=list)
    cycle_end_ns: list[int] = field(default_factory=list)
    reject_ns: list[int] = field(default_factory=list)
    count: int = 0
    reject: int = 0
    state: str = "idle"
    order: str | None = None
    target: int | None = None

    @property
    def good(self) -> int:
        return self.count - self.reject

    def record_cycle(self, ts_ns: int, rejected: bool) -> None:
        self.count += 1
        self.cycle_end_ns.append(ts_ns)
        if rejected:
            self.reject += 1
            self.reject_ns.append(ts_ns)
        self._append(ts_ns, "cycle", rejected=rejected)

    def record_state(self, ts_ns: int, state: str, cause: str) -> None:
        self.state = state
        self._append(ts_ns, "state", cause=cause)

    def record_order(self, ts_ns: int, order: str | None, target: int | None, cause: str) -> None:
        self.order, self.target = order, target
        self._append(ts_ns, "order", order=order, target=target, cause=cause)

    def record_injected(self, ts_ns: int, what: str) -> None:
        """A protocol-level fault deliberately injected (bad message, busy reply...)."""
        self._append(ts_ns, "injected", cause=what)

    def _append(self, ts_ns: int, kind: EventKind, **extra: Any) -> None:
        self.events.append(
            TruthEvent(
                ts_ns=ts_ns,
                machine=self.machine,
                kind=kind,
                count=self.count,
                reject=self.reject,
                state=self.state,
                **extra,
            )
        )

    # -- queries ---------------------------------------------------------------------------
    def count_at(self, ts_ns: int) -> int:
        """Cycles ended at or before ``ts_ns``."""
        return bisect_right(self.cycle_end_ns, ts_ns)

    def reject_at(self, ts_ns: int) -> int:
        return bisect_right(self.reject_ns, ts_ns)

    def state_changes(self) -> list[TruthEvent]:
        return [e for e in self.events if e.kind == "state"]

    def order_changes(self) -> list[TruthEvent]:
        return [e for e in self.events if e.kind == "order"]

    def injected(self) -> list[TruthEvent]:
        return [e for e in self.events if e.kind == "injected"]

    def state_at(self, ts_ns: int) -> str | None:
        """The state in force at ``ts_ns`` (None before the first state change)."""
        current: str | None = None
        for event in self.state_changes():
            if event.ts_ns > ts_ns:
                break
            current = event.state
        return current

    def stops(self) -> list[Stop]:
        """Intervals spent in any state other than ``running``."""
        result: list[Stop] = []
        opened: TruthEvent | None = None
        for event in self.state_changes():
            if opened is not None:
                result.append(Stop(opened.ts_ns, event.ts_ns, opened.state, opened.cause))
                opened = None
            if event.state != "running":
                opened = event
        if opened is not None:
            result.append(Stop(opened.ts_ns, None, opened.state, opened.cause))
        return result

    def to_jsonl(self, path: str | Path) -> None:
        write_jsonl(path, [self])

    def totals(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "kind": "totals",
            "count": self.count,
            "reject": self.reject,
            "good": self.good,
            "state": self.state,
            "order": self.order,
            "target": self.target,
            "stops": len([s for s in self.stops() if s.state != "micro_stop"]),
            "micro_stops": len([s for s in self.stops() if s.state == "micro_stop"]),
            "injected": len(self.injected()),
        }


def write_jsonl(path: str | Path, truths: list[GroundTruth]) -> None:
    """All events of ``truths`` in time order, then one ``totals`` line per machine."""
    writer = TruthWriter(path, truths)
    writer.start()
    writer.finish()


class TruthWriter:
    """Streams the events of several truths to a JSONL file as they accumulate."""

    def __init__(self, path: str | Path, truths: list[GroundTruth]) -> None:
        self._path = Path(path)
        self._truths = truths
        self._sent = [0] * len(truths)

    def lines(self) -> Iterator[str]:
        """New event lines since the last call, in time order."""
        fresh: list[TruthEvent] = []
        for i, truth in enumerate(self._truths):
            fresh.extend(truth.events[self._sent[i] :])
            self._sent[i] = len(truth.events)
        fresh.sort(key=lambda e: e.ts_ns)
        for event in fresh:
            yield json.dumps(event.to_json(), separators=(",", ":"))

    def flush(self) -> None:
        text = "".join(line + "\n" for line in self.lines())
        if text:
            with self._path.open("a", encoding="utf-8") as fh:
                fh.write(text)

    def start(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text("", encoding="utf-8")

    def finish(self) -> None:
        """Write what remains plus one ``totals`` line per machine."""
        self.flush()
        with self._path.open("a", encoding="utf-8") as fh:
            for truth in self._truths:
                fh.write(json.dumps(truth.totals(), separators=(",", ":")) + "\n")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read back a truth file (events and totals lines)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
