"""``atelier-edge``: run the gateway, analyse or export traces, check a config file."""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atelier-edge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the gateway")
    run.add_argument("--config", required=True, help="edge YAML config")
    run.add_argument("--log-json", action="store_true", help="log one JSON object per line")

    check = sub.add_parser("check-config", help="validate a config file")
    check.add_argument("file", help="edge YAML config")

    analyze = sub.add_parser("analyze", help="OEE report from a recorded trace")
    analyze.add_argument("--config", required=True)
    analyze.add_argument("--input", required=True, help="trace .csv or .parquet")
    analyze.add_argument("--from", dest="from_", help="ISO 8601 start (default: trace start)")
    analyze.add_argument("--to", help="ISO 8601 end (default: trace end)")
    analyze.add_argument("--by", choices=["shift", "hour", "day"], default="shift")
    analyze.add_argument("--json", action="store_true", help="machine-readable output")
    analyze.add_argument("--no-progress", action="store_true", help="no progress bar")

    hash_pin = sub.add_parser(
        "hash-pin", help="print the salted hash of an operator PIN for operators[].pin_hash"
    )
    hash_pin.add_argument("--pin", help="the PIN (default: asked without echo)")

    export = sub.add_parser("export", help="write raw samples as a trace")
    export.add_argument("--config", required=True)
    export.add_argument("--from", dest="from_", required=True)
    export.add_argument("--to", required=True)
    export.add_argument("--out", required=True, help="trace.csv or trace.parquet")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imports are local so that `check-config` does not pay for asyncua, FastAPI, DuckDB, ...
    if args.command == "check-config":
        from edge.config import check_config_command

        return check_config_command(args.file)
    if args.command == "analyze":
        from edge.analyze import analyze_command

        return analyze_command(args)
    if args.command == "export":
        from edge.export import export_command

        return export_command(args)
    if args.command == "hash-pin":
        return _hash_pin(args.pin)
    if args.command == "run":
        limit_malloc_arenas()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        from edge.agent import run_command

        return run_command(args)
    raise AssertionError(args.command)


M_ARENA_MAX = -8  # glibc's mallopt parameter

# How long a thread that wants the GIL waits before it asks the running one to hand it over
# (CPython's default: 5 ms). The gateway's threads are paho's network thread (Python-bound while
# a backlog drains), the event loop and the DuckDB writer (short Python steps between C calls;
# DuckDB takes the GIL back briefly while a query runs, to check for signals). With 5 ms each of
# those steps waited up to 5 ms behind paho's thread, more so since connectors.mqtt_client reads
# many packets per wake-up. bench/edge_ingest.py, QoS 0 backlog drain, one loaded afternoon:
# buffered client at 5 ms 8.4k msg/s, 2 ms 14.3k, 1 ms 24.1k-27.0k, 0.5 ms 24.2k, 0.2 ms 22.5k;
# paho's plain client at 5 ms 12.2k, at 1 ms 14.3k.
GIL_SWITCH_INTERVAL_S = 0.001


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas before the gateway starts its threads.

    glibc gives each thread that allocates its own arena (up to 8 per core) and rarely returns
    their freed pages: with paho's thread, the DuckDB writer and the ack thread each allocating
    batch-sized buffers, the edge's RSS climbed ~8 MB/s under a full-rate MQTT backlog
    (bench/edge_ingest.py: 160 -> 490 MB in 40 s) and stayed flat at ~250 MB with 2 arenas, at
    the same throughput. ``MALLOC_ARENA_MAX`` in the environment wins (glibc reads it itself).
    Returns whether the cap was applied (not on other C libraries or systems).
    """
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # musl and others: no such library or function
        return False


def _hash_pin(pin: str | None) -> int:
    import getpass

    from edge.tablet.auth import hash_secret

    if pin is None:
        pin = getpass.getpass("PIN: ")
    if not pin.strip():
        print("atelier-edge: hash-pin: the PIN is empty", file=sys.stderr)
        return 2
    print(hash_secret(pin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
