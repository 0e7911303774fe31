"""Run every benchmark: ``python -m bench [--smoke] [name ...]``.

Each benchmark module exposes ``main(argv: list[str]) -> int`` and accepts ``--smoke`` for a
short run (used by CI to prove the benchmark still works, not to judge its figures).
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = ["analytics", "connectors", "edge_ingest", "central_ingest", "latency"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="short runs, for CI")
    parser.add_argument("names", nargs="*", default=BENCHMARKS)
    args = parser.parse_args()
    failed = []
    for name in args.names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"-- {name}: not written yet, skipped")
                continue
            raise
        print(f"\n==== bench/{name}.py {'(smoke)' if args.smoke else ''}", flush=True)
        rc = module.main(["--smoke"] if args.smoke else [])
        if rc:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
