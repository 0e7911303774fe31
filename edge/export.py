"""``atelier-edge export``: raw samples of a time range written as a trace (CSV or Parquet).

The trace format is the one ``atelier-edge analyze`` reads (``edge.trace``). The database is
opened read-only; DuckDB lets one process write a file, so while ``atelier-edge run`` holds it
the export says so and exits with an error instead of waiting.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.analytics.calendar import to_ns
from edge.config import ConfigError, load_config
from edge.store import Store, StoreUnavailable
from edge.trace import write_trace


class ExportError(Exception):
    """A bad argument or an unreadable database; the message names which."""


def parse_time(value: str, name: str, tz: ZoneInfo) -> int:
    """ISO 8601 (``Z`` or offset; a naive time is local to the edge's timezone) → UTC ns."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExportError(f"--{name}: {value!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return to_ns(moment)


def export_samples(data_dir: Path, out: Path, *, start_ns: int, end_ns: int) -> int:
    """Write the samples with ``start_ns <= ts < end_ns``; return the row count."""
    if end_ns <= start_ns:
        raise ExportError("--to must be after --from")
    store = Store(data_dir, read_only=True)
    try:
        store.open()
        cols = store.read_samples(from_ns=start_ns, to_ns=end_ns)
    except StoreUnavailable as exc:
        raise ExportError(str(exc)) from exc
    finally:
        store.close()
    return write_trace(out, cols["ts_ns"], cols["machine"], cols["signal"], cols["value"])


def export_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"config {issue.path}: {issue.message}", file=sys.stderr)
        return 2
    tz = config.edge.tz
    try:
        start = parse_time(args.from_, "from", tz)
        end = parse_time(args.to, "to", tz)
        n = export_samples(Path(config.edge.data_dir), Path(args.out), start_ns=start, end_ns=end)
    except (ExportError, OSError, ValueError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    print(f"{n} samples written to {args.out}")
    return 0
