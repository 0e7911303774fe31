"""Cycle → central latency: from a part made on a simulated PLC to the order's progress at central.

The whole chain runs as in production, each part its own process on 127.0.0.1: simulators
(OPC UA press, Modbus lathe, MQTT oven), ``atelier-edge run`` and ``atelier-central run``
(SQLite). The simulators' ground truth gives the wall-clock time of every cycle (``ts_ns``) and
the order it belongs to; this process polls ``GET /api/v1/work-orders/{number}`` every
``poll_ms`` and notes when ``qty_good + qty_scrap`` first reaches each cycle's rank in its
order. Latency of a cycle = that moment − the cycle's time (same host clock). The polling adds
up to ``poll_ms`` (half on average) to every figure.

Printed: per machine and overall, the number of cycles, p50, p95 and max in milliseconds, and
the target (p95 < 2 s). ``python -m bench.latency [--smoke] [--seconds N]``
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simulators.demo import EmbeddedBroker
from simulators.demo_plant import EDGE_YAML, Plant, Ports
from simulators.demo_procs import free_port, wait_port
from simulators.demo_seed import OrderSeed, Planner, seed_plant
from simulators.truth import read_jsonl

TARGET_P95_S = 2.0
ORDERS = {"press-01": "WO-1001", "lathe-02": "WO-2001", "oven-03": "WO-3001"}


def _scenario(topic: str) -> dict[str, Any]:
    behaviour = {"jitter": 0.1, "reject_rate": 0.05, "setup_s": 0.5}
    return {
        "name": "latency",
        "seed": 11,
        "machines": [
            {
                "id": "press-01",
                "ideal_cycle_s": 0.5,
                "requires_order": True,
                "behaviour": behaviour,
                "source": {"protocol": "opcua", "prefix": "Press01"},
            },
            {
                "id": "lathe-02",
                "ideal_cycle_s": 0.7,
                "requires_order": True,
                "behaviour": behaviour,
                "source": {"protocol": "modbus", "unit": 1, "order_format": "WO-{}"},
            },
            {
                "id": "oven-03",
                "ideal_cycle_s": 1.0,
                "order": "WO-3001",
                "behaviour": behaviour,
                "source": {"protocol": "mqtt", "topic": topic, "format": "json", "period_s": 0.2},
            },
        ],
    }


def _broker_up(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _plant(tmp: Path, mqtt_url: str) -> Plant:
    tag = uuid.uuid4().hex[:8]
    topic = f"atelier-bench/{tag}/oven-03"
    scenario = tmp / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(_scenario(topic)), encoding="utf-8")
    base = yaml.safe_load(EDGE_YAML.read_text(encoding="utf-8"))
    oven = next(m for m in base["machines"] if m["id"] == "oven-03")
    return Plant(
        tmp / "plant",
        Ports.free(mqtt_url),
        scenario=scenario,
        edge_id=f"bench-{tag}",
        edge_overrides={"oven-03": {"source": {**oven["source"], "url": mqtt_url, "topic": topic}}},
    )


def _observe(planner: Planner, seconds: float, poll_ms: int) -> dict[str, list[tuple[int, int]]]:
    """(time_ns, good + scrap) of every order: at the start, then each time it changed."""
    seen: dict[str, list[tuple[int, int]]] = {wo: [] for wo in ORDERS.values()}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for number in ORDERS.values():
            wo = planner.work_order(number)
            total = int(wo["qty_good"] + wo["qty_scrap"])
            if not seen[number] or total != seen[number][-1][1]:
                seen[number].append((time.time_ns(), total))
        time.sleep(poll_ms / 1000)
    return seen


def latencies(
    truth: list[dict[str, Any]], seen: dict[str, list[tuple[int, int]]], *, tail_s: float = 3.0
) -> dict[str, np.ndarray]:
    """Seconds from each cycle (truth) to the first observation that includes it.

    Only cycles made after the first observation and at least ``tail_s`` before the last one
    count: earlier ones were visible before we looked, later ones had no time to show.
    """
    out: dict[str, np.ndarray] = {}
    for machine, number in ORDERS.items():
        obs = seen[number]
        times = np.array([t for t, _ in obs], np.int64)
        totals = np.array([n for _, n in obs], np.int64)
        cycles = np.array(
            [e["ts_ns"] for e in truth if e.get("machine") == machine and e["kind"] == "cycle"],
            np.int64,
        )
        ranks = np.arange(1, cycles.size + 1)
        window = (cycles > times[0]) & (cycles < times[-1] - int(tail_s * 1e9))
        window &= ranks > totals[0]
        idx = np.searchsorted(totals, ranks[window])  # totals only grow: first one ≥ rank
        seen_ok = idx < totals.size
        out[machine] = (times[idx[seen_ok]] - cycles[window][seen_ok]) / 1e9
    return out


def _report(lat: dict[str, np.ndarray], poll_ms: int) -> bool:
    print(f"{'machine':<10} {'cycles':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in [*lat.items(), ("all", np.concatenate(list(lat.values())))]:
        if values.size == 0:
            print(f"{name:<10} {0:>7}")
            continue
        p50, p95 = np.percentile(values, [50, 95])
        print(
            f"{name:<10} {values.size:>7} {p50 * 1e3:>8.0f} {p95 * 1e3:>8.0f} "
            f"{values.max() * 1e3:>8.0f}"
        )
    every = np.concatenate(list(lat.values()))
    ok = every.size > 0 and float(np.percentile(every, 95)) < TARGET_P95_S
    verdict = "met" if ok else "MISSED"
    print(f"target p95 < {TARGET_P95_S:.0f} s (polling every {poll_ms} ms): {verdict}")
    return ok


def run(seconds: float, poll_ms: int) -> bool:
    with (
        tempfile.TemporaryDirectory(prefix="atelier-latency-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        mqtt = "mqtt://127.0.0.1:1883"
        if not _broker_up():
            mqtt = stack.enter_context(EmbeddedBroker(free_port())).url
        plant = _plant(Path(tmp), mqtt)
        stack.callback(plant.stop)
        tokens = plant.start_central()
        planner = stack.enter_context(Planner(plant.central_url, tokens.admin))
        orders = (
            OrderSeed("WO-1001", "BRACKET-10", 100_000, "press-01", "ACME"),
            OrderSeed("WO-2001", "SHAFT-20", 100_000, "lathe-02", "BOLT"),
            OrderSeed("WO-3001", "PANEL-30", 100_000, "oven-03", "CASA"),
        )
        seed_plant(planner, plant.edge_id, plant.machine_cycles(), orders=orders)
        plant.start_edge()
        sims = plant.start_sims()
        wait_port("127.0.0.1", plant.ports.opcua, sims)
        time.sleep(3.0)  # connections, first downlink and setup: measure the steady state
        seen = _observe(planner, seconds, poll_ms)
        plant.stop()
        lat = latencies(read_jsonl(plant.truth_path), seen)
        return _report(lat, poll_ms)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="short run (CI)")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--poll-ms", type=int, default=50)
    args = parser.parse_args(argv)
    seconds = args.seconds or (10.0 if args.smoke else 60.0)
    ok = run(seconds, args.poll_ms)
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    import sys

    sys.exit(main())
