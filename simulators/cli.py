"""``atelier-sim``: run a scenario's simulated PLCs, or write a recorded trace offline.

Exit codes: 0 done, 1 unexpected failure, 2 bad input or environment (scenario invalid, port in
use, broker unreachable) with one clear line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from simulators.errors import SimulatorError
from simulators.scenario import load_scenario

log = logging.getLogger("atelier-sim")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atelier-sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the protocol servers of a scenario")
    run.add_argument("--scenario", required=True, type=Path)
    run.add_argument("--truth", type=Path, help="ground truth JSONL written as it goes")
    run.add_argument("--duration", type=float, help="stop after S seconds (default: until ^C)")
    run.add_argument("--mqtt-url", help="broker URL, e.g. mqtt://127.0.0.1:1883")
    run.add_argument("--opcua-port", type=int)
    run.add_argument("--modbus-port", type=int)
    run.add_argument("--cert-dir", type=Path, help="OPC UA certificate folder")
    run.add_argument("-v", "--verbose", action="store_true")
    trace = sub.add_parser("trace", help="write a recorded trace and its truth, no network")
    trace.add_argument("--scenario", required=True, type=Path)
    trace.add_argument("--hours", required=True, type=float)
    trace.add_argument("--out", required=True, type=Path)
    trace.add_argument("--truth", type=Path)
    trace.add_argument("--start", type=_iso, help="ISO 8601 start (default: the scenario's)")
    return parser


def _iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _run(args: argparse.Namespace) -> None:
    # Imported here: the protocol stacks take seconds to import and ``trace`` needs none.
    from simulators.runner import SimulationRunner

    scenario = load_scenario(args.scenario)
    runner = SimulationRunner(
        scenario,
        opcua_port=args.opcua_port,
        modbus_port=args.modbus_port,
        mqtt_url=args.mqtt_url,
        cert_dir=args.cert_dir,
        truth_path=args.truth,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with runner:
        if runner.opcua is not None:
            log.info(
                "OPC UA   %s (namespace %d)", runner.opcua.endpoint, runner.opcua.namespace_index
            )
        if runner.modbus is not None:
            log.info("Modbus   %s", runner.modbus.url)
        if runner.mqtt is not None:
            log.info("MQTT     %s:%d", runner.mqtt.host, runner.mqtt.port)
        if args.truth:
            log.info("truth -> %s", args.truth)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
    log.info("stopped; totals: %s", {m: t.truth.count for m, t in runner.models.items()})


def _trace(args: argparse.Namespace) -> None:
    from simulators.trace import write_trace

    scenario = load_scenario(args.scenario)
    result = write_trace(
        scenario, hours=args.hours, out=args.out, truth_path=args.truth, start=args.start
    )
    print(
        f"wrote {result.rows} rows to {args.out}"
        + (f", truth to {args.truth}" if args.truth else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
    try:
        if args.command == "run":
            asyncio.run(_run(args))
        else:
            _trace(args)
    except SimulatorError as exc:
        print(f"atelier-sim: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
