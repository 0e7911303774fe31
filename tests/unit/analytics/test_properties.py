"""Property tests: the numpy pipeline equals the pure-Python reference on random traces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from unittest.mock import patch
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge.analytics import cycles
from edge.analytics.calendar import BreakSpec, ShiftSpec, to_ns
from edge.analytics.counters import counter_deltas
from edge.analytics.cycles import cycle_ends
from edge.analytics.report import MachineParams, analyze_machine
from edge.analytics.windows import hour_windows
from tests.unit.analytics import reference as ref

NS = 1_000_000_000
T0 = to_ns(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))  # a Monday
UTC_TZ = ZoneInfo("UTC")
SHIFTS = [
    ShiftSpec("a", time(0, 5), time(0, 50), breaks=(BreakSpec(time(0, 20), 5),)),
    ShiftSpec(
        "b", time(0, 50), time(0, 2), breaks=(BreakSpec(time(1, 10), 10), BreakSpec(time(1, 40), 3))
    ),
]
PARAMS = dict(ideal_cycle_s=10.0, slow_factor=2.0, stop_threshold_s=60.0)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Trace:
    ts: list[int]
    count: list[float]
    reject_ts: list[int]
    reject: list[float]
    state_ts: list[int]
    state: list[float]


@st.composite
def counter_series(draw: st.DrawFn, n_max: int = 50) -> tuple[list[int], list[float]]:
    """Timestamps (duplicates allowed) and a uint16/uint32 counter with wraps, resets, jumps."""
    n = draw(st.integers(0, n_max))
    steps = draw(st.lists(st.sampled_from([0, 0, 1, 5, 15, 30, 90, 200]), min_size=n, max_size=n))
    jitter = draw(st.lists(st.integers(0, NS - 1), min_size=n, max_size=n))
    ts, t = [], T0 + draw(st.integers(0, 3600)) * NS
    for s, j in zip(steps, jitter, strict=True):
        t += s * NS + (j if s else 0)
        ts.append(t)
    top = draw(st.sampled_from([2**16, 2**32]))  # a uint16 or a uint32 counter
    v = draw(st.one_of(st.integers(top - 6, top - 1), st.integers(0, top - 1)))
    values = []
    for _ in range(n):
        kind = draw(st.sampled_from(["inc", "inc", "inc", "inc", "reset", "jump"]))
        if kind == "inc":
            v = (v + draw(st.integers(0, 4))) % top
        elif kind == "reset":
            v = draw(st.integers(0, 3))
        else:
            v = (v + draw(st.integers(5, 3000))) % top
        values.append(float(v))
    return ts, values


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    ts, count = draw(counter_series())
    rts = sorted(draw(st.lists(st.sampled_from(ts), max_size=8))) if ts else []
    rej = list(np.cumsum(draw(st.lists(st.integers(0, 2), min_size=len(rts), max_size=len(rts)))))
    n_state = draw(st.integers(0, 10))
    state_ts = sorted(T0 + draw(st.integers(0, 3 * 3600)) * NS for _ in range(n_state))
    state = [float(draw(st.integers(0, 7))) for _ in range(n_state)]
    return Trace(ts, count, rts, [float(x) for x in rej], state_ts, state)


def _series(tr: Trace) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {"count": (np.array(tr.ts, np.int64), np.array(tr.count))}
    out["reject"] = (np.array(tr.reject_ts, np.int64), np.array(tr.reject))
    out["state"] = (np.array(tr.state_ts, np.int64), np.array(tr.state))
    return out


@FAST
@given(
    tr=traces(),
    width=st.sampled_from([16, None]),
    rate=st.sampled_from([None, 0.5]),
    in_avail=st.booleans(),
)
def test_numpy_pipeline_equals_reference(
    tr: Trace, width: int | None, rate: float | None, in_avail: bool
) -> None:
    params = MachineParams(
        **PARAMS,
        counter_width_bits=width,
        max_rate_per_s=rate,
        micro_stops_in_availability=in_avail,
    )
    start, end = T0, T0 + 4 * 3600 * NS
    windows = hour_windows(UTC_TZ, start, end)
    got = analyze_machine("m", _series(tr), params, SHIFTS, UTC_TZ, start, end, windows)

    all_ts = tr.ts + tr.reject_ts + tr.state_ts
    lim = params.limits
    if all_ts:
        span = (min(all_ts), max(all_ts))
        deltas = ref.counter_deltas(tr.ts, tr.count, width, rate)
        ends = ref.cycle_ends(tr.ts, deltas)
        gaps = ref.classify(ends, *span, lim.ideal_ns, lim.slow_ns, lim.stop_ns)
        if not tr.ts:
            gaps = ref.Gaps()  # nothing counts parts: no stop is inferred from silence
        st_sets = ref.state_sets(tr.state_ts, tr.state, span[1]) if tr.state_ts else {}
        rej_d = ref.counter_deltas(tr.reject_ts, tr.reject, width)
    else:
        span, ends, gaps, st_sets, rej_d = (0, 0), [], ref.Gaps(), {}, []
    inst, brk = ref.utc_calendar(SHIFTS, start, end)
    sets = ref.Sets(
        inst, brk, span, st_sets.get("planned", []), st_sets.get("setup", []),
        st_sets.get("down", []), gaps.stops, gaps.micro,
    )  # fmt: skip
    rejects = list(zip(tr.reject_ts, rej_d, strict=True))
    assert len(got) == len(windows) == 4
    for rep, ws, we in zip(got, windows.starts.tolist(), windows.ends.tolist(), strict=True):
        f = ref.figures((ws, we), sets, ends, gaps.loss, rejects, in_avail, lim.slow_ns)
        assert rep.planned_s == f.planned / NS
        assert abs(rep.stop_s - f.stop / NS) < 1e-6
        assert abs(rep.run_s - (f.planned - f.stop) / NS) < 1e-6
        assert abs(rep.losses.setup_s - f.setup / NS) < 1e-6
        assert abs(rep.micro_stop_s - f.micro_s / NS) < 1e-6
        assert abs(rep.slow_s - f.slow / NS) < 1e-6
        assert (rep.micro_stops, rep.stops, rep.failures) == (f.micro_stops, f.stops, f.failures)
        assert rep.total == f.total
        assert rep.reject == min(max(f.reject, 0), f.total)
        assert rep.good == rep.total - rep.reject
        if f.planned == 0:
            assert rep.availability is None and rep.oee is None
        for name, value in [
            ("stop", f.stop),
            ("micro", f.micro_s),
            ("setup", f.setup),
            ("slow", f.slow),
            ("reject", f.reject),
            ("failures", f.failures),
        ]:
            if value:
                event(f"window with {name}")  # fmt: skip


@FAST
@given(
    series=counter_series(), width=st.sampled_from([16, None]), rate=st.sampled_from([None, 0.5])
)
def test_counter_and_cycles_match_reference(
    series: tuple[list[int], list[float]], width: int | None, rate: float | None
) -> None:
    ts, values = series
    d = counter_deltas(
        np.array(ts, np.int64), np.array(values), width_bits=width, max_rate_per_s=rate
    )
    want = ref.counter_deltas(ts, values, width, rate)
    for name, idx in [("wrap", d.wraps), ("reset", d.resets), ("implausible", d.implausible)]:
        if idx.size:
            event(f"counter {name}")
    assert d.delta.tolist() == want
    want_ends = ref.cycle_ends(ts, want)
    for dense_fraction in (10**9, 0):  # every series expanded densely, then none
        with patch.object(cycles, "DENSE_FRACTION", dense_fraction):
            ends = cycle_ends(
                np.array(ts, np.int64), d.delta, multi=d.multi, multi_dt_ns=d.multi_dt_ns
            )
        assert ends.tolist() == want_ends
    assert d.multi.tolist() == [i for i, x in enumerate(want) if x > 1]


@FAST
@given(series=counter_series(), cut=st.integers(0, 50), width=st.sampled_from([16, None]))
def test_chunked_equals_whole(
    series: tuple[list[int], list[float]], cut: int, width: int | None
) -> None:
    ts = np.array(series[0], np.int64)
    v = np.array(series[1])
    whole = counter_deltas(ts, v, width_bits=width, max_rate_per_s=0.5)
    k = min(cut, ts.size)
    a = counter_deltas(ts[:k], v[:k], width_bits=width, max_rate_per_s=0.5)
    b = counter_deltas(ts[k:], v[k:], width_bits=width, max_rate_per_s=0.5, baseline=a.baseline)
    assert np.concatenate((a.delta, b.delta)).tolist() == whole.delta.tolist()
    if k == 0:
        return  # the whole series has no baseline for its first sample either
    prev = int(ts[k - 1])
    ends_a = cycle_ends(ts[:k], a.delta, multi=a.multi, multi_dt_ns=a.multi_dt_ns)
    ends_b = cycle_ends(ts[k:], b.delta, prev_ts_ns=prev, multi=b.multi, multi_dt_ns=b.multi_dt_ns)
    whole_ends = cycle_ends(ts, whole.delta, multi=whole.multi, multi_dt_ns=whole.multi_dt_ns)
    assert np.concatenate((ends_a, ends_b)).tolist() == whole_ends.tolist()
