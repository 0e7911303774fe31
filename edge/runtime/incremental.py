"""Incremental analytics over the samples committed since the last run (runs on the writer thread).

One run reads the samples with ``ingest_id`` above the last analysed one, turns counters into
parts with the persisted baselines (``edge.analytics.counters``), and writes, in ONE transaction:
per-minute cycle summaries, stops, state intervals, production deltas per work order — each fact
that central needs together with its outbox record — the new baselines and the new analysed
ingest id. A crash before the commit redoes the run; after it, nothing is counted twice.

Each part, reject and stop goes to the work order that was active at its own timestamp (cycle
end, reject sample, stop start), from the machine's order history
(:mod:`edge.runtime.order_history`), so an order switch between two runs splits the run.

Samples older than a signal's baseline (a redelivered MQTT message after a crash, a late
source timestamp) are ignored for counters: a cumulative counter loses nothing by skipping an
older reading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from central.contract import ProductionBody, StopBody
from connectors.base import MachineState
from edge.analytics.counters import CounterBaseline, counter_deltas
from edge.analytics.cycles import cycle_ends, rising_edges
from edge.analytics.intervals import I64
from edge.analytics.states import state_runs
from edge.analytics.stops import GapThresholds, classify_gaps
from edge.runtime.order_history import OrderTimeline, order_timelines, record_active_orders
from edge.store import Store, Transaction, read_series

MINUTE_NS = 60 * 1_000_000_000
COUNTER_SIGNALS = ("count", "good", "reject", "cycle")
ANALYSED_SIGNALS = (*COUNTER_SIGNALS, "state")
STOP_CATEGORY = {
    MachineState.fault: "fault",
    MachineState.setup: "setup",
    MachineState.planned_stop: "planned",
}


@dataclass(frozen=True, slots=True)
class MachineParams:
    id: str
    ideal_cycle_s: float
    slow_factor: float
    stop_threshold_s: float
    width_bits: int | None = None
    max_rate_per_s: float | None = None
    total_signal: str = "count"  # count | good (then total = good + reject) | cycle


@dataclass(frozen=True, slots=True)
class LiveMachine:
    """What the analytics know of a machine after the last run."""

    machine: str
    state: MachineState | None
    state_since_ns: int | None
    last_cycle_ns: int | None


@dataclass(frozen=True, slots=True)
class RunResult:
    samples: int
    records: int
    live: dict[str, LiveMachine]
    # per machine, the oldest new sample when it is older than one analysed before (it came
    # out of order: a backlog, a slower source): what was computed from there on may change
    late_ns: dict[str, int] = field(default_factory=dict)


def iso(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)


Series = dict[str, tuple[I64, np.ndarray]]


def _fetch(tx: Transaction, after: int, upto: int) -> dict[str, Series]:
    where = "ingest_id > ? AND ingest_id <= ?"
    return read_series(tx.con, where, [after, upto], signals=ANALYSED_SIGNALS)


def _baselines(tx: Transaction) -> dict[tuple[str, str], CounterBaseline]:
    rows = tx.con.execute("SELECT machine, signal, ts_ns, value FROM counter_baselines").fetchall()
    return {(m, s): CounterBaseline(int(t), round(v)) for m, s, t, v in rows}


def _live(tx: Transaction) -> dict[str, LiveMachine]:
    rows = tx.con.execute(
        "SELECT machine, state, state_since_ns, last_cycle_ns FROM machine_state"
    ).fetchall()
    return {
        m: LiveMachine(m, None if s is None else MachineState(int(s)), since, last)
        for m, s, since, last in rows
    }


@dataclass(slots=True)
class _Parts:
    """Parts counted by one machine in this run."""

    total: int = 0
    reject: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    ends: I64 | None = None
    reject_ts: I64 | None = None
    reject_delta: I64 | None = None


class IncrementalAnalytics:
    """Holds the machine parameters; ``run(store, now_ns)`` is called on the writer thread."""

    def __init__(self, machines: Mapping[str, MachineParams]) -> None:
        self.machines = dict(machines)
        self._newest: dict[str, int] = {}  # per machine, the newest sample analysed (this run)

    def run(self, store: Store, now_ns: int) -> RunResult:
        with store.transaction() as tx:
            record_active_orders(tx)
            after = tx.get_kv("analysed_ingest_id")
            row = tx.con.execute("SELECT coalesce(max(ingest_id), 0) FROM samples").fetchone()
            upto = int(row[0]) if row else 0
            live = _live(tx)
            if upto <= after:
                return RunResult(0, 0, live)
            series = _fetch(tx, after, upto)
            baselines = _baselines(tx)
            timelines = order_timelines(tx)
            records = 0
            n = 0
            late: dict[str, int] = {}
            newest: dict[str, int] = {}
            for machine, signals in series.items():
                params = self.machines.get(machine)
                if params is None:
                    continue  # a machine removed from the config: its raw samples stay
                n += sum(ts.size for ts, _ in signals.values())
                oldest = min(int(ts[0]) for ts, _ in signals.values() if ts.size)
                if oldest < self._newest.get(machine, oldest):
                    late[machine] = oldest
                newest[machine] = max(int(ts[-1]) for ts, _ in signals.values() if ts.size)
                orders = timelines.get(machine) or OrderTimeline.empty()
                records += self._machine(tx, params, signals, baselines, live, orders)
            tx.set_kv("analysed_ingest_id", upto)
        for machine, ts in newest.items():  # committed
            self._newest[machine] = max(ts, self._newest.get(machine, ts))
        return RunResult(n, records, live, late)

    def _machine(
        self,
        tx: Transaction,
        params: MachineParams,
        signals: Series,
        baselines: dict[tuple[str, str], CounterBaseline],
        live: dict[str, LiveMachine],
        orders: OrderTimeline,
    ) -> int:
        parts = self._count(tx, params, signals, baselines)
        prev = live.get(params.id) or LiveMachine(params.id, None, None, None)
        records = self._cycles(tx, params, parts, prev, orders)
        state, since = self._states(tx, params.id, signals.get("state"), prev)
        last_cycle = prev.last_cycle_ns
        if parts.ends is not None and parts.ends.size:
            last_cycle = int(parts.ends[-1])
        tx.con.execute(
            "INSERT OR REPLACE INTO machine_state VALUES (?, ?, ?, ?, ?)",
            [params.id, None if state is None else int(state), since, last_cycle, parts.last_ns],
        )
        live[params.id] = LiveMachine(params.id, state, since, last_cycle)
        if parts.total or parts.reject:
            records += self._production(tx, params.id, parts, orders)
        return records

    def _count(
        self,
        tx: Transaction,
        params: MachineParams,
        signals: Series,
        baselines: dict[tuple[str, str], CounterBaseline],
    ) -> _Parts:
        parts = _Parts()
        for name in (params.total_signal, "reject"):
            if name not in signals:
                continue
            ts, values = signals[name]
            base = baselines.get((params.id, name))
            if base is not None:
                keep = ts > base.ts_ns
                ts, values = ts[keep], values[keep]
            if ts.size == 0:
                continue
            if name == "cycle":
                prev = None if base is None else float(base.value)
                ends = rising_edges(ts, values, prev_value=prev)
                delta = np.zeros(ts.size, np.int64)
                delta[np.searchsorted(ts, ends)] = 1
                new_base = CounterBaseline(int(ts[-1]), round(float(values[-1])))
            else:
                d = counter_deltas(
                    ts,
                    values,
                    width_bits=params.width_bits,
                    max_rate_per_s=params.max_rate_per_s,
                    baseline=base,
                )
                delta = d.delta
                assert d.baseline is not None
                new_base = d.baseline
            tx.con.execute(
                "INSERT OR REPLACE INTO counter_baselines VALUES (?, ?, ?, ?)",
                [params.id, name, new_base.ts_ns, float(new_base.value)],
            )
            _add(parts, name, ts, delta, base, good_plus_reject=params.total_signal == "good")
        return parts

    def _cycles(
        self,
        tx: Transaction,
        params: MachineParams,
        parts: _Parts,
        prev: LiveMachine,
        orders: OrderTimeline,
    ) -> int:
        """Per-minute (and per-order) cycle summaries, and stops from the gaps between cycles."""
        ends = parts.ends
        if ends is None or ends.size == 0:
            return 0
        keys = np.stack((ends // MINUTE_NS, orders.index_at(ends)), axis=1)
        rows, inverse, per_row = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        rejects = np.zeros(len(rows), np.int64)
        if parts.reject_ts is not None and parts.reject_delta is not None:
            # a reject belongs with the last cycle that ended at or before it
            last = np.searchsorted(ends, parts.reject_ts, side="right") - 1
            np.add.at(rejects, inverse[last.clip(0, ends.size - 1)], parts.reject_delta)
        for (minute, who), n, r in zip(
            rows.tolist(), per_row.tolist(), rejects.tolist(), strict=True
        ):
            _add_minute(tx, params.id, minute * MINUTE_NS, orders.order(who), n, r)
        all_ends = (
            ends if prev.last_cycle_ns is None else np.concatenate(([prev.last_cycle_ns], ends))
        )
        limits = GapThresholds.from_seconds(
            params.ideal_cycle_s, params.slow_factor, params.stop_threshold_s
        )
        gaps = classify_gaps(all_ends, int(all_ends[0]), int(all_ends[-1]), limits)
        records = 0
        for start, end in zip(gaps.stops.starts.tolist(), gaps.stops.ends.tolist(), strict=True):
            records += self._stop(tx, params.id, start, end, prev.state, orders.order_at(start))
        return records

    def _stop(
        self,
        tx: Transaction,
        machine: str,
        start: int,
        end: int,
        state: MachineState | None,
        order: str | None,
    ) -> int:
        category = STOP_CATEGORY.get(state, "unplanned") if state is not None else "unplanned"
        body = StopBody(
            machine=machine,
            start=iso(start),
            end=iso(end),
            category=category,  # type: ignore[arg-type]
            work_order=order,
        )
        seq = tx.outbox("stop", end, body.model_dump(mode="json"))
        tx.con.execute(
            "INSERT INTO events (machine, kind, start_ns, end_ns, work_order, detail, outbox_seq) "
            "VALUES (?, 'stop', ?, ?, ?, ?, ?)",
            [machine, start, end, order, json.dumps({"category": category}), seq],
        )
        return 1

    def _states(
        self,
        tx: Transaction,
        machine: str,
        series: tuple[I64, np.ndarray] | None,
        prev: LiveMachine,
    ) -> tuple[MachineState | None, int | None]:
        """Close a state interval at every change of the state signal."""
        if series is None:
            return prev.state, prev.state_since_ns
        ts, codes = series
        if prev.state_since_ns is not None:
            keep = ts >= prev.state_since_ns
            ts, codes = ts[keep], codes[keep]
        if ts.size == 0:
            return prev.state, prev.state_since_ns
        if prev.state is not None and prev.state_since_ns is not None:
            ts = np.concatenate(([prev.state_since_ns], ts))
            codes = np.concatenate(([float(prev.state)], codes))
        starts, _ends, code = state_runs(ts, codes, int(ts[-1]))
        for i in range(starts.size - 1):  # one row per closed interval: a handful per run
            tx.con.execute(
                "INSERT INTO events (machine, kind, start_ns, end_ns, state) "
                "VALUES (?, 'state', ?, ?, ?)",
                [machine, int(starts[i]), int(starts[i + 1]), _state_name(int(code[i]))],
            )
        return _state(int(code[-1])), int(starts[-1])

    def _production(
        self, tx: Transaction, machine: str, parts: _Parts, orders: OrderTimeline
    ) -> int:
        """One production fact per work order that made or scrapped parts in this run."""
        assert parts.first_ns is not None and parts.last_ns is not None
        ends = parts.ends if parts.ends is not None else np.zeros(0, np.int64)
        rej_ts = parts.reject_ts if parts.reject_ts is not None else np.zeros(0, np.int64)
        rej = parts.reject_delta if parts.reject_delta is not None else np.zeros(0, np.int64)
        end_who, rej_who = orders.index_at(ends), orders.index_at(rej_ts)
        who_all = sorted({*end_who.tolist(), *rej_who[rej > 0].tolist()})
        for k, who in enumerate(who_all):
            mine = end_who == who
            total = int(mine.sum())  # one end per part counted (cycle_ends repeats them)
            reject = int(rej[rej_who == who].sum())
            since = orders.since(who)
            start = parts.first_ns if since is None else max(parts.first_ns, since)
            if k == len(who_all) - 1:
                end = parts.last_ns
            else:
                end = max(
                    int(ends[mine].max(initial=start)),
                    int(rej_ts[rej_who == who].max(initial=start)),
                )
            self._fact(tx, machine, orders.order(who), start, end, total, reject)
        return len(who_all)

    def _fact(
        self,
        tx: Transaction,
        machine: str,
        order: str | None,
        start: int,
        end: int,
        total: int,
        reject: int,
    ) -> None:
        good = max(total - reject, 0)
        body = ProductionBody(
            work_order=order,
            machine=machine,
            good=good,
            scrap=reject,
            period_start=iso(start),
            period_end=iso(end),
        )
        seq = tx.outbox("production", end, body.model_dump(mode="json"))
        tx.con.execute(
            "INSERT INTO production VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [machine, order, start, end, total, good, reject, seq],
        )


def _add_minute(
    tx: Transaction, machine: str, start_ns: int, order: str | None, total: int, reject: int
) -> None:
    """One ``cycles`` row per machine, minute and order: runs add to it."""
    key = [machine, start_ns, order]
    row = tx.con.execute(
        "UPDATE events SET total = total + ?, reject = reject + ? WHERE machine = ? "
        "AND kind = 'cycles' AND start_ns = ? AND work_order IS NOT DISTINCT FROM ?",
        [total, reject, *key],
    ).fetchone()
    if row is None or int(row[0]) == 0:
        tx.con.execute(
            "INSERT INTO events (machine, kind, start_ns, end_ns, work_order, total, reject) "
            "VALUES (?, 'cycles', ?, ?, ?, ?, ?)",
            [machine, start_ns, start_ns + MINUTE_NS, order, total, reject],
        )


def _state(code: int) -> MachineState:
    try:
        return MachineState(code)
    except ValueError:
        return MachineState.unknown


def _state_name(code: int) -> str:
    return _state(code).name


def _add(
    parts: _Parts,
    name: str,
    ts: I64,
    delta: I64,
    base: CounterBaseline | None,
    *,
    good_plus_reject: bool,
) -> None:
    first = int(ts[0]) if base is None else base.ts_ns
    parts.first_ns = first if parts.first_ns is None else min(parts.first_ns, first)
    parts.last_ns = int(ts[-1]) if parts.last_ns is None else max(parts.last_ns, int(ts[-1]))
    n = int(delta.sum())
    if name == "reject":
        parts.reject += n
        parts.reject_ts, parts.reject_delta = ts, delta
        if not good_plus_reject:
            return  # rejects are already in the count signal
    parts.total += n
    prev_ts = None if base is None else base.ts_ns
    ends = cycle_ends(ts, delta, prev_ts_ns=prev_ts) if name != "cycle" else ts[delta > 0]
    parts.ends = ends if parts.ends is None else np.sort(np.concatenate((parts.ends, ends)))
