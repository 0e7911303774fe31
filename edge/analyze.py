"""``atelier-edge analyze``: OEE reports per machine and window from a recorded trace.

Reads the edge config (machines, shifts, time zone) and a trace (CSV or Parquet, see
``edge.trace``), runs ``edge.analytics`` on every configured machine present in the trace, and
prints a table, or with ``--json`` a list of report objects (DESIGN.md keys; ratios 0..1 not
rounded, ``null`` where undefined). ``--from``/``--to`` are ISO 8601 (a time without an offset is
the edge's local time); they default to the trace's first and last sample. Problems with the
inputs are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

import numpy as np
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from edge.analytics.calendar import to_ns
from edge.analytics.report import MachineParams, Series, WindowReport, analyze_machine
from edge.config import ConfigError, EdgeConfig, MachineConfig, load_config
from edge.trace import Trace, TraceError, read_trace

SIGNALS = ("count", "cycle", "reject", "good", "state")
PROGRESS_MIN_SAMPLES = 1_000_000  # below this a trace is analysed before a bar is worth drawing
EXIT_BAD_INPUT = 2


class AnalyzeError(Exception):
    """Bad command-line input (dates)."""


def machine_params(machine: MachineConfig, config: EdgeConfig) -> MachineParams:
    return MachineParams(
        ideal_cycle_s=machine.ideal_cycle_s,
        slow_factor=machine.slow_factor,
        stop_threshold_s=machine.stop_threshold_s,
        counter_width_bits=machine.counter_width_bits,
        max_rate_per_s=machine.max_rate_per_s,
        micro_stops_in_availability=config.defaults.micro_stops_in_availability,
    )


def parse_time(text: str, tz: ZoneInfo, option: str) -> int:
    """ISO 8601 → UTC ns; a naive time is local to the edge."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AnalyzeError(
            f"{option} has value {text!r}. Not an ISO 8601 time (e.g. 2026-03-02T06:00:00+01:00)"
        ) from None
    return to_ns(moment if moment.tzinfo else moment.replace(tzinfo=tz))


def period(args: argparse.Namespace, trace: Trace, tz: ZoneInfo) -> tuple[int, int]:
    start = parse_time(args.from_, tz, "--from") if args.from_ else trace.start_ns
    end = parse_time(args.to, tz, "--to") if args.to else trace.end_ns
    if start is None or end is None:
        raise AnalyzeError("the trace has no samples: give --from and --to")
    if end <= start:
        raise AnalyzeError("--to must be after --from (and after the trace start)")
    return start, end


def machine_series(trace: Trace, machine: str, start: int, end: int) -> dict[str, Series]:
    """The machine's signals from the sample before ``start`` (counter baseline) to ``end``."""
    out: dict[str, Series] = {}
    for signal in SIGNALS:
        ts, values = trace.series(machine, signal)
        if len(ts):
            lo = max(int(np.searchsorted(ts, start, side="left")) - 1, 0)
            hi = int(np.searchsorted(ts, end, side="right"))
            out[signal] = (ts[lo:hi], values[lo:hi])
    return out


def analyze_trace(
    config: EdgeConfig, trace: Trace, start: int, end: int, by: str, *, progress: bool
) -> list[WindowReport]:
    """Reports of every configured machine present in the trace, machine by machine."""
    present = set(trace.machines)
    machines = [m for m in config.machines if m.id in present]
    reports: list[WindowReport] = []
    total = sum(len(trace.series(m.id, s)[0]) for m in machines for s in SIGNALS)
    with tqdm(total=total, unit="sample", disable=not progress, file=sys.stderr) as bar:
        for machine in machines:
            series = machine_series(trace, machine.id, start, end)
            params = machine_params(machine, config)
            reports += analyze_machine(
                machine.id,
                series,
                params,
                config.shifts,
                config.edge.tz,
                start,
                end,
                by,
                observed_until_ns=trace.end_ns,  # the recorder ran until its last sample
            )
            bar.update(sum(len(trace.series(machine.id, s)[0]) for s in SIGNALS))
    return reports


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def print_table(reports: Iterable[WindowReport], tz: ZoneInfo, out: TextIO) -> None:
    table = Table(title=f"OEE per window (times in {tz.key}, durations h:mm)")
    for name in ("machine", "window", "shift", "planned", "run", "stops", "micro", "total"):
        table.add_column(
            name, justify="left" if name in ("machine", "window", "shift") else "right"
        )
    for name in ("good", "reject", "A %", "P %", "Q %", "OEE %"):
        table.add_column(name, justify="right")
    for r in reports:
        start = r.window_start.astimezone(tz)
        end = r.window_end.astimezone(tz)
        table.add_row(
            r.machine,
            f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
            if end.date() == start.date()
            else f"{start:%Y-%m-%d %H:%M}–{end:%m-%d %H:%M}",
            r.shift or "",
            _hm(r.planned_s),
            _hm(r.run_s),
            f"{r.stops} / {_hm(r.stop_s)}",
            f"{r.micro_stops} / {_hm(r.micro_stop_s)}",
            str(r.total),
            str(r.good),
            str(r.reject),
            *(_pct(x) for x in (r.availability, r.performance, r.quality, r.oee)),
        )
    Console(file=out, width=160).print(table)


def _warn_unknown(trace: Trace, config: EdgeConfig) -> None:
    known = {m.id for m in config.machines}
    for machine in trace.machines:
        if machine not in known:
            print(f"warning: machine {machine!r} is in the trace but not in the config: skipped",
                  file=sys.stderr)  # fmt: skip


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return f"config {exc.source}: " + "; ".join(exc.lines())
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def analyze_command(args: argparse.Namespace) -> int:
    """Entry point of ``atelier-edge analyze`` (see the module doc)."""
    try:
        config = load_config(args.config)
        trace = read_trace(args.input)
        start, end = period(args, trace, config.edge.tz)
    except (ConfigError, TraceError, AnalyzeError) as exc:
        print(f"atelier-edge analyze: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _warn_unknown(trace, config)
    progress = not args.no_progress and sys.stderr.isatty() and len(trace) >= PROGRESS_MIN_SAMPLES
    reports = analyze_trace(config, trace, start, end, args.by, progress=progress)
    if args.json:
        json.dump([r.to_dict() for r in reports], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(reports, config.edge.tz, sys.stdout)
    return 0
