"""Slow, obviously-correct pure-Python reference of the analytics, for the property tests.

Everything is a plain loop over samples, cycles or elementary time segments; sets are lists of
``(start, end)`` pairs tested by membership. Time is int nanoseconds throughout, so the results
compare exactly with the numpy pipeline (seconds only at the very end).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

Pairs = list[tuple[int, int]]
NS = 1_000_000_000


def inside(x: int, pairs: Pairs) -> bool:
    return any(s <= x < e for s, e in pairs)


# --- counters and cycles ------------------------------------------------------------------------
def counter_deltas(
    ts: list[int],
    values: list[float],
    width_bits: int | None = None,
    max_rate: float | None = None,
    baseline: tuple[int, int] | None = None,
) -> list[int]:
    out = []
    prev = baseline
    for t, raw in zip(ts, values, strict=True):
        v = int(raw)
        d = 0
        if prev is not None:
            pt, pv = prev
            d = v - pv
            if d < 0:
                d = max(v, 0)  # a reset counts from zero
                for bits in [16, 32] if width_bits is None else [width_bits]:
                    top = 2**bits
                    if bits < 63 and pv < top and v >= 0 and top - pv + v <= top // 16:
                        d = top - pv + v
                        break
            # d > floor(rate x dt x 1.1) + 1, written as the pipeline computes it
            if max_rate is not None and d > 1 and d - 1 > (t - pt) * (max_rate * 1.1 * 1e-9):
                d = 0
        out.append(d)
        prev = (t, v)
    return out


def cycle_ends(ts: list[int], deltas: list[int], prev_ts: int | None = None) -> list[int]:
    ends = []
    for i, (t, k) in enumerate(zip(ts, deltas, strict=True)):
        if k <= 0:
            continue
        t0 = ts[i - 1] if i > 0 else (t if prev_ts is None else prev_ts)
        step = (t - t0) // k
        for j in range(k):
            back = k - 1 - j
            ends.append(t - back * step)
    return ends


def rising_edges(ts: list[int], values: list[float]) -> list[int]:
    return [ts[i] for i in range(1, len(ts)) if values[i] > 0.5 and not values[i - 1] > 0.5]


# --- gaps and states ------------------------------------------------------------------------
@dataclass
class Gaps:
    loss: list[int] = field(default_factory=list)
    micro: Pairs = field(default_factory=list)
    stops: Pairs = field(default_factory=list)


def classify(ends: list[int], lo: int, hi: int, ideal: int, slow: int, stop: int) -> Gaps:
    g = Gaps(loss=[0] * len(ends))
    if not ends:
        if hi - lo > stop:
            g.stops.append((lo, hi))
        return g
    for j in range(1, len(ends)):
        gap = ends[j] - ends[j - 1]
        if gap <= slow:
            g.loss[j] = max(gap, ideal) - ideal
        elif gap <= stop:
            g.micro.append((ends[j - 1], ends[j] - ideal))
        else:
            g.stops.append((ends[j - 1], ends[j] - ideal))
    if ends[0] - lo > stop:
        g.stops.append((lo, ends[0] - ideal))
    if hi - ends[-1] > stop:
        g.stops.append((ends[-1], hi))
    return g


def state_sets(ts: list[int], codes: list[float], span_end: int) -> dict[str, Pairs]:
    """planned_stop (6), setup (5), down (fault 4, stopped 3, idle 2, offline 7)."""
    out: dict[str, Pairs] = {"planned": [], "setup": [], "down": []}
    runs = []
    for i, c in enumerate(codes):
        code = round(c)
        if i == 0 or code != runs[-1][1]:
            runs.append((ts[i], code))
    for i, (start, code) in enumerate(runs):
        end = runs[i + 1][0] if i + 1 < len(runs) else max(span_end, ts[-1])
        key = {6: "planned", 5: "setup", 4: "down", 3: "down", 2: "down", 7: "down"}.get(code)
        if key:
            out[key].append((start, end))
    return out


# --- calendar (UTC days, no time zone arithmetic) -------------------------------------------
def ns_of(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def utc_calendar(shifts: list, start: int, end: int) -> tuple[Pairs, Pairs]:
    """(shift instances, breaks) of shifts with UTC times, over ``[start, end)``."""
    first = datetime.fromtimestamp(start // NS, UTC).date() - timedelta(days=1)
    inst, brk = [], []
    for i in range((end - start) // (86400 * NS) + 3):
        day = first + timedelta(days=i)
        for sh in shifts:
            if day.weekday() not in sh.days:
                continue
            s = ns_of(datetime.combine(day, sh.start, UTC))
            end_day = day + timedelta(days=1) if sh.end <= sh.start else day
            e = ns_of(datetime.combine(end_day, sh.end, UTC))
            inst.append((max(s, start), min(e, end)))
            for b in sh.breaks:
                b_day = day + timedelta(days=1) if b.start < sh.start else day
                bs = ns_of(datetime.combine(b_day, b.start, UTC))
                brk.append((max(bs, s), min(bs + b.minutes * 60 * NS, e)))
    return inst, brk


_ = time  # shifts carry datetime.time values


# --- per window figures ---------------------------------------------------------------------
@dataclass
class Sets:
    shifts: Pairs
    breaks: Pairs
    span: tuple[int, int]
    planned_stop: Pairs
    setup: Pairs
    down_state: Pairs
    inferred: Pairs
    micro: Pairs


@dataclass
class Figures:
    planned: int = 0
    stop: int = 0
    setup: int = 0
    micro_s: int = 0
    slow: int = 0
    micro_stops: int = 0
    stops: int = 0
    failures: int = 0
    total: int = 0
    reject: int = 0


def _classes(x: int, s: Sets, in_avail: bool) -> dict[str, bool]:
    lo, hi = s.span
    p = inside(x, s.shifts) and not inside(x, s.breaks) and lo <= x < hi
    p = p and not inside(x, s.planned_stop)
    setup = inside(x, s.setup)
    down_raw = (inside(x, s.inferred) or inside(x, s.down_state)) and not setup
    other = p and (setup or down_raw)
    micro_raw = inside(x, s.micro)
    micro = p and micro_raw and not other
    unplanned = other or (micro and in_avail)
    fail_raw = (down_raw or (micro_raw and in_avail)) and not setup
    return {
        "P": p,
        "setup": p and setup,
        "U": unplanned,
        "micro": micro,
        "run": p and not unplanned,
        "micro_raw": micro_raw,
        "fail_raw": fail_raw,
        "stop_raw": fail_raw or setup,
    }


def _count_pieces(segs: list, raw: str, within: str, min_overlap: int) -> int:
    count, run_on, overlap = 0, False, 0
    for a, b, c in [*segs, (0, 0, {raw: False, within: False})]:
        if c[raw]:
            overlap += (b - a) if c[within] else 0
            run_on = True
        elif run_on:
            count += overlap >= min_overlap
            run_on, overlap = False, 0
    return count


def figures(
    window: tuple[int, int],
    s: Sets,
    ends: list[int],
    loss: list[int],
    rejects: list[tuple[int, int]],
    in_avail: bool,
    min_stop_overlap: int,
) -> Figures:
    ws, we = window
    points = {ws, we}
    for pairs in (s.shifts, s.breaks, s.planned_stop, s.setup, s.down_state, s.inferred, s.micro):
        for a, b in pairs:
            points.update((a, b))
    points.update(s.span)
    cuts = sorted(p for p in points if ws <= p <= we)
    segs = [(a, b, _classes(a, s, in_avail)) for a, b in itertools.pairwise(cuts)]
    f = Figures()
    for a, b, c in segs:
        f.planned += (b - a) * c["P"]
        f.stop += (b - a) * c["U"]
        f.setup += (b - a) * c["setup"]
        f.micro_s += (b - a) * c["micro"]
    f.micro_stops = _count_pieces(segs, "micro_raw", "micro", 1)
    f.failures = _count_pieces(segs, "fail_raw", "P", min_stop_overlap)
    f.stops = _count_pieces(segs, "stop_raw", "P", min_stop_overlap)
    for e, lo_ in zip(ends, loss, strict=True):
        if ws <= e < we:
            f.total += 1
            f.slow += lo_ if _classes(e, s, in_avail)["run"] else 0
    f.reject = sum(n for t, n in rejects if ws <= t < we)
    return f
