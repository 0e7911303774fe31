"""Analytics pipeline speed against numpy's memory-bandwidth floor and a plain Python loop.

``python -m bench analytics [--smoke]``. Measured in the same run:

1. the pipeline the edge runs on a machine's counter — counter deltas (wraps, resets,
   implausible jumps) → cycle ends (several parts per sample spread with ``np.repeat``) → gaps →
   classification (slow cycles, micro-stops, stops) → OEE per hour window against a shift
   calendar — in ns per sample, on 10 million samples;
2. a plain ``np.add`` of two float64 arrays of the same length, in ns per element: the memory
   bandwidth baseline; and the ratio of the two (target: at most 10);
3. a tight pure-Python loop doing the same work on 1 million samples, against the pipeline on
   the same samples (target: the pipeline at least 10x faster).

Each figure is the best of several runs, the measured functions taking turns (the machine is
shared; the minimum is the least disturbed). The trace: a machine with a 1 s ideal cycle
really cycling in 1.0-1.3 s, polled
every 0.5 s with jitter (uint16 counter: it wraps every 18 h), a micro-stop (5-200 s) every
~1,000 s of running and a stop (5-50 min) every ~10,000 s. A second, denser trace (a 0.2 s
press polled every second, ~3.5 parts per sample to spread) is reported for information.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import time as tod
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from edge.analytics.calendar import ShiftSpec, shift_plan
from edge.analytics.counters import counter_deltas
from edge.analytics.oee import WindowFigures, window_figures
from edge.analytics.report import MachineParams, build_timeline
from edge.analytics.windows import hour_windows

NS = 1_000_000_000
T0 = 1_772_000_000 * NS
TZ = ZoneInfo("Europe/Paris")
SHIFTS = [ShiftSpec("morning", tod(6), tod(14)), ShiftSpec("afternoon", tod(14), tod(22))]
PARAMS = MachineParams(ideal_cycle_s=1.0, counter_width_bits=16, max_rate_per_s=3.0)
DENSE = MachineParams(ideal_cycle_s=0.2, counter_width_bits=16, max_rate_per_s=10.0)
Trace = tuple[NDArray[np.int64], NDArray[np.float64]]


def make_trace(n: int, poll_s: float, cycle_s: float, seed: int = 7) -> Trace:
    """``n`` polls of a uint16 counter; cycles take 1-1.3 x ``cycle_s``; micro-stops and stops."""
    rng = np.random.default_rng(seed)
    poll = round(poll_s * NS)
    ts = T0 + np.cumsum(rng.integers(int(poll * 0.95), int(poll * 1.05), n))
    parts = int(n * poll_s / cycle_s) + 10
    cycle = rng.uniform(cycle_s, 1.3 * cycle_s, parts)
    event = rng.random(parts) / cycle_s  # events per second of running, whatever the cycle
    micro, stop = event < 1e-3, event < 1e-4
    cycle[micro] += rng.uniform(5, 200, int(micro.sum()))
    cycle[stop] += rng.uniform(300, 3000, int(stop.sum()))
    ends = T0 + np.cumsum(cycle * NS).astype(np.int64)
    made = np.searchsorted(ends, ts, side="right")
    return ts.astype(np.int64), (made % (1 << 16)).astype(np.float64)


def pipeline(trace: Trace, params: MachineParams) -> WindowFigures:
    ts = trace[0]
    lo, hi = int(ts[0]), int(ts[-1])
    plan = shift_plan(SHIFTS, TZ, lo, hi)
    timeline = build_timeline({"count": trace}, params, plan.planned, (lo, hi))
    return window_figures(timeline, hour_windows(TZ, lo, hi), micro_in_availability=False)


def python_loop(trace: Trace, params: MachineParams) -> tuple[dict[int, int], dict[int, int]]:
    """The same work as one plain loop: deltas with wraps, resets and rate check, spreading,
    gap classification, and per-hour totals, speed loss and stop time (planned = shift hours)."""
    ts, values = trace[0].tolist(), trace[1].tolist()
    ideal, slow, stop = params.limits.ideal_ns, params.limits.slow_ns, params.limits.stop_ns
    top, window, rate = 1 << 16, (1 << 16) >> 4, params.max_rate_per_s or 0.0
    hour = 3600 * NS
    totals: dict[int, int] = {}
    losses: dict[int, int] = {}
    prev_t, prev_v, last_end = ts[0], int(values[0]), ts[0]
    for t, raw in zip(ts, values, strict=True):
        v = int(raw)
        d = v - prev_v
        if d < 0:
            d = top - prev_v + v if top - prev_v + v <= window else v
        if d > 1 and d > rate * (t - prev_t) * 1e-9 * 1.1 + 1:
            d = 0
        for j in range(d):
            end = t - (d - 1 - j) * (t - prev_t) // d
            gap = end - last_end
            h = end // hour
            totals[h] = totals.get(h, 0) + 1
            if gap <= slow:
                losses[h] = losses.get(h, 0) + max(gap - ideal, 0)
            elif gap > stop:
                losses[h] = losses.get(h, 0) + gap - ideal
            last_end = end
        prev_t, prev_v = t, v
    return totals, losses


def best_times(runs: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best time of each function, the functions taking turns: a load spike from the other
    processes on the machine then hits all of them alike instead of one figure."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure(n: int, n_loop: int, runs: int) -> dict[str, float]:
    trace = make_trace(n, poll_s=0.5, cycle_s=1.0)
    a, b = np.random.default_rng(1).random((2, n))
    small = (trace[0][:n_loop], trace[1][:n_loop])
    dense = make_trace(n // 4, poll_s=1.0, cycle_s=0.2)
    a4, b4 = a[: n // 4], b[: n // 4]
    t = best_times(
        runs,
        {
            "pipeline": lambda: pipeline(trace, PARAMS),
            "add": lambda: np.add(a, b),
            "dense": lambda: pipeline(dense, DENSE),
            "dense_add": lambda: np.add(a4, b4),
            "pipeline_small": lambda: pipeline(small, PARAMS),
        },
    )
    loop = best_times(max(1, runs // 3), {"loop": lambda: python_loop(small, PARAMS)})["loop"]
    per = {"pipeline": n, "add": n, "dense": n // 4, "dense_add": n // 4, "pipeline_small": n_loop}
    out = {name: t[name] / per[name] * 1e9 for name in t}
    out["loop"] = loop / n_loop * 1e9
    out["dense_parts_per_sample"] = int(counter_deltas(*dense, width_bits=16).total) / (n // 4)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench analytics")
    parser.add_argument("--smoke", action="store_true", help="small sizes, figures not judged")
    args = parser.parse_args(argv)
    n, n_loop, runs = (200_000, 20_000, 2) if args.smoke else (10_000_000, 1_000_000, 5)
    r = measure(n, n_loop, runs)
    ratio = r["pipeline"] / r["add"]
    speedup = r["loop"] / r["pipeline_small"]
    print(f"samples: {n:,} (pipeline, np.add), {n_loop:,} (Python loop); best of {runs}")
    print(f"pipeline (deltas→cycles→gaps→classes→OEE/hour): {r['pipeline']:7.2f} ns/sample")
    print(f"np.add baseline (float64, same length):         {r['add']:7.2f} ns/element")
    print(f"ratio pipeline / np.add:                         {ratio:7.2f}   (target <= 10)")
    print(f"Python loop, same work, {n_loop:,} samples:        {r['loop']:7.1f} ns/sample")
    print(
        f"pipeline on the same {n_loop:,} samples:           {r['pipeline_small']:7.2f} ns/sample"
    )
    print(f"speed-up over the Python loop:                   {speedup:7.1f}x  (target >= 10)")
    parts = r["dense_parts_per_sample"]
    print(
        f"dense trace, {n // 4:,} samples of {parts:.1f} parts each (information): "
        f"{r['dense']:.2f} ns/sample, {r['dense'] / parts:.2f} ns/part, "
        f"{r['dense'] / r['dense_add']:.1f}x np.add of that length"
    )
    met = ratio <= 10 and speedup >= 10
    if args.smoke:
        print("smoke run: sizes too small to judge the figures")
    else:
        print("targets met" if met else "TARGETS MISSED")
    return 0 if met or args.smoke else 1
