"""Live OEE from one-minute slices: each slice's samples are analysed once, not every refresh.

The board's hour-to-date, shift-to-date and order-to-date OEE used to re-read every sample of
the open hour (and of the active order) every few seconds: memory and time grew with the
hour's volume (a fast counter writes millions of samples an hour). Now the period is cut into
slices (the minute marks, plus the start of the shift and of the active order); a slice is
analysed with the others still open and, once *final*, kept: each refresh reads only the
samples of the slices not final yet, plus a few samples before them.

- **Context, not a margin.** A window needs the samples before it only for counter baselines,
  the last cycle end (a gap running into the window) and the last state. Instead of ten
  minutes of samples, :func:`context` reads, per signal, the first sample of that margin (the
  observed span starts there), the last one, and the last two changes of value (the sample
  before each change and the changed one): the figures inside the window are the same. A
  signal with no sample in the margin (a state reported by exception, an hour ago) takes the
  last value before the previous slice's end (``carry``), dated at the margin's start.
- **Final.** A slice is final when its end is ``LATE_NS`` in the past and the gap running
  over its end is decided: a cycle ended after it, or the silence is already a stop, or
  (a machine that counts nothing) a sample came after it. Samples in time order cannot change
  a final slice; one older than the machine's newest (a backlog drained after an outage, a
  slower second source) reopens the slices from its time minus the stop threshold on (a cycle
  end there can only reclassify a gap shorter than a stop).
- **Joining.** An hour, the shift so far and the order so far are :func:`join` of their
  slices: times and counts add up, and an event counted on both sides of a boundary (a stop
  over a minute mark) is one event.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np

from edge.analytics.report import (
    MachineParams,
    Series,
    SliceReport,
    WindowReport,
    analyze_slices,
    join,
)
from edge.analytics.windows import Windows
from edge.runtime.analysis import Calendar, margin_ns
from edge.runtime.incremental import ANALYSED_SIGNALS
from edge.store import Store

NS = 1_000_000_000
SLICE_NS = 60 * NS
LATE_NS = 5 * NS  # a slice is not final before its end is this far in the past
CHUNK_SLICES = 15  # slices analysed per writer call while catching up (bounded memory)
CONTEXT_LEVELS = 2  # changes of value kept from the margin (a cycle bit needs two)
COUNTING = ("count", "cycle")  # the signals cycle ends come from (report.machine_cycle_ends)

Carry = dict[str, tuple[int, float]]  # signal -> its last sample before a time


def context(
    con: duckdb.DuckDBPyConnection, machine: str, signal: str, lo: int, hi: int
) -> list[tuple[int, float]]:
    """The samples of ``[lo, hi)`` that stand for all of them before a window starting at
    ``hi`` (see the module doc), in time order; ``[]`` when there is none."""
    base = "FROM samples WHERE machine = ? AND signal = ? AND ts_ns >= ? AND ts_ns < ?"
    args = [machine, signal, lo, hi]
    row = con.execute(
        f"SELECT min(ts_ns), arg_min(value, ts_ns), max(ts_ns), arg_max(value, ts_ns) {base}",
        args,
    ).fetchone()
    if row is None or row[0] is None:
        return []
    found = {int(row[0]): float(row[1]), int(row[2]): float(row[3])}
    value, before = float(row[3]), hi
    for _ in range(CONTEXT_LEVELS):
        prev = con.execute(
            f"SELECT max(ts_ns), arg_max(value, ts_ns) {base} AND ts_ns < ? AND value <> ?",
            [*args, before, value],
        ).fetchone()
        if prev is None or prev[0] is None:
            break
        changed = con.execute(
            f"SELECT min(ts_ns), arg_min(value, ts_ns) {base} AND ts_ns > ?", [*args, prev[0]]
        ).fetchone()
        assert changed is not None and changed[0] is not None  # `before` itself is later
        found[int(prev[0])] = float(prev[1])
        found[int(changed[0])] = float(changed[1])
        value, before = float(prev[1]), int(prev[0])
    return sorted(found.items())


def slice_series(
    store: Store, machine: str, start_ns: int, end_ns: int, carry: Carry, margin: int
) -> dict[str, Series]:
    """The analysed signals of ``machine`` in ``[start_ns, end_ns)``, each preceded by its
    :func:`context` from the ``margin`` before ``start_ns`` (or by its carried last value)."""
    con = store.con
    lo = start_ns - margin
    marks = ", ".join("?" * len(ANALYSED_SIGNALS))
    present = {
        str(s)
        for (s,) in con.execute(
            f"SELECT DISTINCT signal FROM samples WHERE machine = ? AND signal IN ({marks})"
            " AND ts_ns >= ? AND ts_ns < ?",
            [machine, *ANALYSED_SIGNALS, lo, end_ns],
        ).fetchall()
    }
    out: dict[str, Series] = {}
    for signal in sorted(present | carry.keys()):
        before = context(con, machine, signal, lo, start_ns) if signal in present else []
        if not before and signal in carry:
            before = [(lo, carry[signal][1])]  # its value then; observed from the margin on
        cols = con.execute(
            "SELECT ts_ns, value FROM samples WHERE machine = ? AND signal = ?"
            " AND ts_ns >= ? AND ts_ns < ?",
            [machine, signal, start_ns, end_ns],
        ).fetchnumpy()
        ts = np.concatenate(
            (np.array([t for t, _ in before], np.int64), np.asarray(cols["ts_ns"], np.int64))
        )
        values = np.concatenate(
            (np.array([v for _, v in before], np.float64), np.asarray(cols["value"], np.float64))
        )
        if ts.size > 1 and not (ts[1:] >= ts[:-1]).all():
            order = np.argsort(ts, kind="stable")
            ts, values = ts[order], values[order]
        if ts.size:
            out[signal] = (ts, values)
    return out


@dataclass(frozen=True, slots=True)
class Slice:
    start_ns: int
    end_ns: int
    report: SliceReport
    carry: Carry  # each signal's last sample before end_ns (the next slice's fallback)


@dataclass(frozen=True, slots=True)
class ChainResult:
    slices: list[Slice]
    final: int  # how many of ``slices``, from the first, are final


def analyse_chain(
    store: Store,
    machine: str,
    params: MachineParams,
    calendar: Calendar,
    bounds: Sequence[int],
    labels: Sequence[str | None],
    carry: Carry,
    now_ns: int,
) -> ChainResult:
    """Slices ``[bounds[i], bounds[i+1])`` of one machine (run on the writer thread), reading
    the samples up to ``now_ns``: those after the last bound decide whether it is final."""
    start, end = bounds[0], bounds[-1]
    margin = margin_ns(params)
    series = slice_series(store, machine, start, max(end, now_ns), carry, margin)
    w = Windows.of(bounds[:-1], bounds[1:], labels)
    found = analyze_slices(
        machine, series, params, calendar.shifts, calendar.tz, start - margin, end, w
    )
    counts = any(name in series for name in COUNTING)
    out: list[Slice] = []
    final = 0
    for i, report in enumerate(found.slices):
        e = bounds[i + 1]
        out.append(Slice(bounds[i], e, report, _carry(series, carry, e)))
        if final == i and _decided(found.last_cycle_ns, found.span_end_ns, e, counts, params):
            final = i + 1 if e + LATE_NS <= now_ns else final
    return ChainResult(out, final)


def _decided(
    last_cycle: int | None, span_end: int | None, e: int, counts: bool, params: MachineParams
) -> bool:
    """Nothing after ``e`` can change the figures before it any more."""
    if span_end is None:
        return False  # no sample yet: wait for one (a restarted source, a late backlog)
    if not counts:
        return span_end >= e
    if last_cycle is not None and last_cycle >= e:
        return True  # the gap over e has ended
    return span_end - max(last_cycle or 0, e) > params.limits.stop_ns  # a stop whatever comes


def _carry(series: dict[str, Series], carry: Carry, e: int) -> Carry:
    out = dict(carry)
    for signal, (ts, values) in series.items():
        i = int(np.searchsorted(ts, e, side="left")) - 1
        if i >= 0:
            out[signal] = (int(ts[i]), float(values[i]))
    return out


@dataclass(slots=True)
class MachineSlices:
    """The final slices of one machine, in time order."""

    params: MachineParams
    finals: list[Slice] = field(default_factory=list)

    def invalidate(self, from_ns: int) -> None:
        """Samples at ``from_ns`` arrived late: reopen every slice ending after it."""
        ends = [s.end_ns for s in self.finals]
        self.finals = self.finals[: bisect.bisect_right(ends, from_ns)]

    def prune(self, before_ns: int) -> None:
        self.finals = [s for s in self.finals if s.end_ns > before_ns]

    def cut_at(self, cuts: Sequence[int]) -> None:
        """Reopen from the first final slice that a cut falls inside (an order that started in
        it: its figures are the order's from the cut on)."""
        for k, s in enumerate(self.finals):
            if any(s.start_ns < c < s.end_ns for c in cuts):
                self.finals = self.finals[:k]
                return

    def settle(self, bounds: Sequence[int]) -> int:
        """Keep the final slices that match ``bounds`` from its start on (each starts on a
        bound and ends on one); return the index in ``bounds`` where the open slices begin."""
        keep: list[Slice] = []
        i = 0
        for s in self.finals:
            if s.end_ns <= bounds[0]:
                continue
            j = bisect.bisect_left(bounds, s.end_ns, lo=i + 1)
            if bounds[i] != s.start_ns or j >= len(bounds) or bounds[j] != s.end_ns:
                break
            keep.append(s)
            i = j
        self.finals = keep
        return i

    def compact(self, before_ns: int, cuts: Sequence[int]) -> None:
        """Join the final slices ending by ``before_ns`` into one per stretch between ``cuts``
        (the hours, the shift's and the order's start): a week-long order keeps a slice an
        hour, not one a minute. Joined slices join on exactly like their parts."""
        cut = sorted(cuts)
        out: list[Slice] = []
        run: list[Slice] = []

        def flush() -> None:
            if len(run) == 1:
                out.append(run[0])
            elif run:
                first, last = run[0], run[-1]
                joined = SliceReport(
                    join([x.report for x in run], self.params), first.report.head, last.report.tail
                )
                out.append(Slice(first.start_ns, last.end_ns, joined, last.carry))
            run.clear()

        for s in self.finals:
            if s.end_ns > before_ns:
                flush()
                out.append(s)
                continue
            if run and bisect.bisect_right(cut, run[0].start_ns) != bisect.bisect_right(
                cut, s.end_ns - 1
            ):
                flush()
            run.append(s)
        flush()
        self.finals = out


def slice_bounds(start_ns: int, now_ns: int, cuts: Sequence[int]) -> list[int]:
    """``start_ns``, every minute mark after it, the ``cuts`` inside, and ``now_ns``."""
    first = -(-start_ns // SLICE_NS) * SLICE_NS
    marks = set(range(first, now_ns, SLICE_NS))
    marks.update(c for c in cuts if start_ns < c < now_ns)
    return [start_ns, *sorted(m for m in marks if m > start_ns), now_ns]


ChainArgs = tuple[str, MachineParams, Calendar, list[int], list[str | None], Carry, int]


@dataclass(slots=True)
class Catchup:
    """The open slices of ``bounds`` analysed a chunk at a time: ``step()`` gives the next
    :func:`analyse_chain` arguments (``None`` when done), ``take()`` its result. The caller
    runs each chunk on the writer thread, so ingest goes on between chunks; memory is bounded
    by a chunk's samples (``CHUNK_SLICES`` minutes and what deciding its last slice needs).

    A chunk whose end stays undecided (no sample for a while after it: a silent source, the
    edge down) is read again looking a chunk further each time; the silence holds no samples,
    so each read is small, until a sample decides it or ``now_ns`` is reached."""

    machine: str
    params: MachineParams
    calendar: Calendar
    kept: MachineSlices
    bounds: list[int]
    labels: list[str | None]  # one per slice
    now_ns: int
    open: list[Slice] | None = None  # the slices not final, once done
    _i: int = 0
    _j: int = 0
    _rest: bool = False
    _reach: int = 0  # chunks looked past the usual look-ahead (the chunk's end undecided)
    _upto: int = 0

    def __post_init__(self) -> None:
        self._i = self.kept.settle(self.bounds)
        if self._i >= len(self.bounds) - 1:
            self.open = []

    def step(self) -> ChainArgs | None:
        if self.open is not None:
            return None
        last = len(self.bounds) - 1
        j = last if self._rest else min(self._i + CHUNK_SLICES, last)
        self._j = j
        # a chunk reads past its end only as far as deciding its last slice needs
        lookahead = self.bounds[j] + self.params.limits.stop_ns + SLICE_NS
        lookahead += self._reach * CHUNK_SLICES * SLICE_NS
        upto = self.now_ns if j == last else min(self.now_ns, lookahead)
        self._upto = upto
        carry = self.kept.finals[-1].carry if self.kept.finals else {}
        chunk, labels = self.bounds[self._i : j + 1], self.labels[self._i : j]
        return (self.machine, self.params, self.calendar, chunk, labels, carry, upto)

    def take(self, result: ChainResult) -> None:
        self.kept.finals.extend(result.slices[: result.final])
        self._i += result.final
        if self._j == len(self.bounds) - 1:
            self.open = result.slices[result.final :]
        elif self._i == self._j:
            self._reach = 0
        elif self._upto < self.now_ns:  # undecided: look further
            self._reach += 1
        else:  # nothing up to now decides it: the rest in one go, which holds no sample
            self._rest = True

    @property
    def slices(self) -> list[Slice]:
        return [*self.kept.finals, *(self.open or [])]


def period_catchup(
    machine: str,
    params: MachineParams,
    calendar: Calendar,
    start_ns: int,
    end_ns: int,
    label: str | None,
    now_ns: int,
) -> Catchup:
    """The slices of a closed period (a shift that ended), reading past its end only as far as
    the gap over the end needs (as the board did), however long ago it ended."""
    return range_catchup(
        machine, params, calendar, Windows.of([start_ns], [end_ns], [label]), now_ns
    )


def range_catchup(
    machine: str, params: MachineParams, calendar: Calendar, windows: Windows, now_ns: int
) -> Catchup:
    """The slices of consecutive ``windows`` (sorted) in one chain, cut at every window's
    bounds and labelled by the window they lie in, so a gap over a boundary between two
    windows is decided by the samples after it, as in the analysis of the whole range."""
    starts, ends = windows.starts.tolist(), windows.ends.tolist()
    bounds = slice_bounds(starts[0], ends[-1], [*starts, *ends])
    labels = []
    for b in bounds[:-1]:
        k = bisect.bisect_right(starts, b) - 1
        labels.append(windows.labels[k] if b < ends[k] else None)
    upto = min(now_ns, ends[-1] + params.limits.stop_ns + SLICE_NS)
    return Catchup(machine, params, calendar, MachineSlices(params), bounds, labels, upto)


def period_report(
    store: Store,
    machine: str,
    params: MachineParams,
    calendar: Calendar,
    start_ns: int,
    end_ns: int,
    label: str | None,
    now_ns: int,
) -> WindowReport | None:
    """One machine's report over ``[start_ns, end_ns)`` from its slices, all in this thread
    (the jobs drive the :class:`Catchup` themselves, a writer call per chunk)."""
    run = period_catchup(machine, params, calendar, start_ns, end_ns, label, now_ns)
    while (args := run.step()) is not None:
        run.take(analyse_chain(store, *args))
    return join([s.report for s in run.slices], params) if run.slices else None
