"""End-to-end edge ingest: MQTT JSON → connector → bounded queue → DuckDB, analytics running.

One run, side by side on the same private Mosquitto and the same publisher:

1. **ceiling** — a bare paho subscriber (own process, same QoS) that discards every message;
2. **edge** — ``atelier-edge run`` (own process) with one MQTT source of 4 signals per message
   (``count``, ``reject``, ``state``, ``temp``), committing to DuckDB and running its analytics job.

Printed: messages/s and samples/s sustained over the measuring window, the edge process's CPU
seconds per 100k samples, its peak RSS, and the edge/ceiling ratio. Targets (2-core machine):
≥ 100,000 samples/s for 60 s with RSS < 300 MB, and ≥ 50 % of the ceiling's message rate.

The publisher is ``mosquitto_pub -l`` fed by a line generator process, QoS 1 (delivery QoS is
the lower of publish and subscribe QoS); the broker runs with ``max_queued_messages 0``
(unlimited: no silent drop to a slow subscriber) and ``set_tcp_nodelay true``. The publisher
outruns both consumers, so each phase measures its consumer's own rate.

``python -m bench.edge_ingest [--smoke] [--seconds N]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.services import free_port, port_open

GENERATOR = r"""
import sys, time
out = sys.stdout
ts = int(time.time() * 1000)
n = 0
states = ("RUN", "RUN", "RUN", "IDLE")
while True:
    lines = []
    for _ in range(1000):
        n += 1
        ts += 1
        lines.append('{"ts":%d,"counters":{"total":%d,"reject":%d},"status":"%s","temp":%d.5}\n'
                     % (ts, n, n // 50, states[(n >> 12) & 3], 200 + n % 7))
    out.write("".join(lines))
"""

BARE_SUBSCRIBER = r"""
import sys, time, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
host, port, topic, qos = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
count = 0
def on_message(c, u, m):
    global count
    count += 1
def on_connect(c, u, f, rc, p):
    c.subscribe(topic, qos=qos)
c = mqtt.Client(
    CallbackAPIVersion.VERSION2, client_id="bench-bare-" + topic.split("/")[1],
    protocol=mqtt.MQTTv5,
)
c.on_message = on_message
c.on_connect = on_connect
c.connect(host, port)
c.loop_start()
print(-1, flush=True)
for _ in sys.stdin:  # one request line -> messages received so far
    print(count, flush=True)
"""


@dataclass(frozen=True)
class Phase:
    name: str
    messages_per_s: float
    samples_per_s: float
    cpu_s_per_100k_samples: float | None
    peak_rss_mb: float | None
    seconds: float


@contextmanager
def mosquitto(workdir: Path) -> Iterator[int]:
    if shutil.which("mosquitto") is None:
        raise SystemExit("bench/edge_ingest: mosquitto is not installed")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\nset_tcp_nodelay true\n"
        "log_dest none\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if port_open("127.0.0.1", port):
                break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def publisher(port: int, topic: str) -> Iterator[None]:
    gen = subprocess.Popen([sys.executable, "-c", GENERATOR], stdout=subprocess.PIPE)
    pub = subprocess.Popen(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            topic,
            "-q",
            "1",
            "-l",
            "--nodelay",
            "-M",
            "1000",
            "--id",
            f"bench-pub-{uuid.uuid4().hex[:6]}",
        ],
        stdin=gen.stdout,
    )
    assert gen.stdout is not None
    gen.stdout.close()  # the pipe now belongs to mosquitto_pub
    try:
        yield
    finally:
        for proc in (pub, gen):
            proc.terminate()
        for proc in (pub, gen):
            proc.wait(10)


class RssWatch:
    def __init__(self, proc: psutil.Process) -> None:
        self.proc = proc
        self.peak = 0

    def sample(self) -> None:
        self.peak = max(self.peak, self.proc.memory_info().rss)


def bare_phase(port: int, seconds: float, warmup_s: float) -> Phase:
    topic = f"bench/{uuid.uuid4().hex[:8]}/telemetry"
    sub = subprocess.Popen(
        [sys.executable, "-c", BARE_SUBSCRIBER, "127.0.0.1", str(port), topic, "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    try:
        sub.stdout.readline()  # connecting
        time.sleep(0.5)  # subscribed before the publisher starts
        proc = psutil.Process(sub.pid)
        watch = RssWatch(proc)
        with publisher(port, topic):
            time.sleep(warmup_s)
            first, cpu0 = _last_count(sub), _cpu(proc)
            t0 = time.perf_counter()
            _sleep_watching(seconds, watch)
            last, cpu1 = _last_count(sub), _cpu(proc)
            elapsed = time.perf_counter() - t0
    finally:
        sub.terminate()
        sub.wait(10)
    rate = (last - first) / elapsed
    # CPU per 100k samples as if each message carried the same 4 samples as the edge's.
    cpu = (cpu1 - cpu0) / (rate * elapsed * 4) * 100_000 if rate else None
    return Phase("bare paho subscriber (ceiling)", rate, rate * 4, cpu, watch.peak / 2**20, elapsed)


def _last_count(sub: subprocess.Popen[str]) -> int:
    assert sub.stdin is not None and sub.stdout is not None
    sub.stdin.write("\n")
    sub.stdin.flush()
    return int(sub.stdout.readline())


def edge_config(workdir: Path, port: int, topic: str, api_port: int) -> Path:
    config = {
        "edge": {
            "id": f"bench-{uuid.uuid4().hex[:6]}",
            "data_dir": str(workdir / "edge"),
            "timezone": "UTC",
            "api": {"host": "127.0.0.1", "port": api_port},
            "queue_max_samples": 200_000,
        },
        "machines": [
            {
                "id": "bench-01",
                "ideal_cycle_s": 0.001,
                "stop_threshold_s": 60,
                "source": {
                    "protocol": "mqtt",
                    "url": f"mqtt://127.0.0.1:{port}",
                    "topic": topic,
                    "qos": 1,
                    "timestamp_field": "ts",
                    "signals": {
                        "count": {"field": "counters.total"},
                        "reject": {"field": "counters.reject"},
                        "state": {"field": "status", "states": {"RUN": "running", "IDLE": "idle"}},
                        "temp": {"field": "temp"},
                    },
                },
            }
        ],
    }
    path = workdir / "edge.yaml"
    path.write_text(json.dumps(config))
    return path


def scrape(api_port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for name in ("edge_samples_committed", "edge_analytics_run_seconds_count"):
        m = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def edge_phase(workdir: Path, port: int, seconds: float, warmup_s: float) -> tuple[Phase, float]:
    topic = f"bench/{uuid.uuid4().hex[:8]}/telemetry"
    api_port = free_port()
    config = edge_config(workdir, port, topic, api_port)
    log = (workdir / "edge.log").open("wb")
    edge = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--config", str(config)], stderr=log
    )
    try:
        proc = psutil.Process(edge.pid)
        watch = RssWatch(proc)
        _wait_healthy(api_port, edge)
        with publisher(port, topic):
            _sleep_watching(warmup_s, watch)
            before, cpu0, t0 = scrape(api_port), _cpu(proc), time.perf_counter()
            _sleep_watching(seconds, watch)
            after, cpu1, t1 = scrape(api_port), _cpu(proc), time.perf_counter()
    finally:
        edge.terminate()
        edge.wait(30)
        log.close()
    samples = after["edge_samples_committed"] - before["edge_samples_committed"]
    runs = after["edge_analytics_run_seconds_count"] - before["edge_analytics_run_seconds_count"]
    elapsed = t1 - t0
    cpu = (cpu1 - cpu0) / samples * 100_000 if samples else None
    phase = Phase(
        "atelier-edge (MQTT → DuckDB)",
        samples / 4 / elapsed,
        samples / elapsed,
        cpu,
        watch.peak / 2**20,
        elapsed,
    )
    return phase, runs


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def _sleep_watching(seconds: float, watch: RssWatch) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        watch.sample()
        time.sleep(0.2)
    watch.sample()


def _wait_healthy(api_port: int, edge: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if edge.poll() is not None:
            raise SystemExit("bench/edge_ingest: the edge exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("bench/edge_ingest: the edge did not become healthy")


def report(bare: Phase, edge: Phase, analytics_runs: float, smoke: bool) -> None:
    print(f"{'':34} {'msg/s':>10} {'samples/s':>11} {'CPU s/100k':>11} {'peak RSS MB':>12}")
    for p in (bare, edge):
        cpu = "-" if p.cpu_s_per_100k_samples is None else f"{p.cpu_s_per_100k_samples:.2f}"
        rss = "-" if p.peak_rss_mb is None else f"{p.peak_rss_mb:.0f}"
        print(
            f"{p.name:34} {p.messages_per_s:>10,.0f} {p.samples_per_s:>11,.0f} {cpu:>11} {rss:>12}"
        )
    ratio = edge.messages_per_s / bare.messages_per_s if bare.messages_per_s else 0.0
    print(
        f"edge / ceiling message rate: {ratio:.0%}   window {edge.seconds:.0f} s, "
        f"analytics runs in window: {analytics_runs:.0f}"
    )
    targets = [
        ("samples/s >= 100,000", edge.samples_per_s >= 100_000),
        ("peak RSS < 300 MB", (edge.peak_rss_mb or 0) < 300),
        ("edge >= 50% of ceiling", ratio >= 0.5),
    ]
    note = " (smoke run: figures not meaningful)" if smoke else ""
    print("targets: " + ", ".join(f"{t} {'met' if ok else 'MISSED'}" for t, ok in targets) + note)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_ingest", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="short run (CI)")
    parser.add_argument("--seconds", type=float, default=None, help="measuring window")
    args = parser.parse_args(list(argv) if argv is not None else None)
    seconds = args.seconds or (4.0 if args.smoke else 60.0)
    warmup = 1.0 if args.smoke else 5.0
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp, mosquitto(Path(tmp)) as port:
        bare = bare_phase(port, seconds, warmup)
        edge, runs = edge_phase(Path(tmp), port, seconds, warmup)
    report(bare, edge, runs, args.smoke)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
