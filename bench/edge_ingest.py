"""End-to-end edge ingest: MQTT JSON → connector → bounded queue → DuckDB, analytics running.

One run, side by side on the same private Mosquitto and the same messages, for each load:

1. **ceiling** — a bare paho subscriber (own process, same QoS and MQTT version) that discards
   every message (paho acknowledges QoS 1 itself, on receipt);
2. **edge** — ``atelier-edge run`` (own process) with one MQTT source of 4 signals per message
   (``count``, ``reject``, ``state``, ``temp``), committing to DuckDB, acknowledging QoS 1 only
   after the commit, and running its analytics job.

Loads: **QoS 1 over MQTT 5** (the default: at-least-once, manual acks after commit) and
**QoS 0 over MQTT 3.1.1** (a high-rate telemetry source that accepts at-most-once). paho's MQTT 5
PUBLISH decoding alone costs ~16 µs a message here (it builds a ``Properties`` object for each),
so the ceiling depends far more on the load than on anything the edge does: each load is
compared with its own ceiling.

How a rate is measured: the consumer connects and subscribes, is frozen (SIGSTOP), the broker's
queue for it is filled by ``mosquitto_pub -l`` (C, QoS 1) until a monitor subscriber has seen
every message, the monitor leaves, and the consumer is thawed (SIGCONT) and drains the backlog —
what an edge does after a network outage. The publisher is done before the measuring window
opens, so it does not share the 2 cores with the consumer; the broker does (it delivers
throughout). The window opens ``warmup`` seconds after the thaw; if the backlog runs out before
the window ends, the row says so (the figure is then a lower bound: raise ``--budget``).

Printed per load: messages/s and samples/s over the window, the consumer process's CPU seconds
per 100k samples, its peak RSS, and edge/ceiling. Targets (2-core machine): ≥ 100,000 samples/s
for 60 s with RSS < 300 MB, and ≥ 50 % of the ceiling's message rate.

``python -m bench.edge_ingest [--smoke] [--seconds N] [--loads qos1-v5,qos0-v311]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.services import free_port, port_open

SIGNALS_PER_MESSAGE = 4
KEEPALIVE_S = 600  # a frozen consumer must outlive the fill without the broker dropping it

# argv: count; timestamps end near "now" (a backlog of the recent past, as after an outage)
GENERATOR = r"""
import sys, time
n_total = int(sys.argv[1])
out = sys.stdout
ts = int(time.time() * 1000) - n_total
states = ("RUN", "RUN", "RUN", "IDLE")
n = 0
while n < n_total:
    lines = []
    for _ in range(min(1000, n_total - n)):
        n += 1
        lines.append('{"ts":%d,"counters":{"total":%d,"reject":%d},"status":"%s","temp":%d.5}\n'
                     % (ts + n, n, n // 50, states[(n >> 12) & 3], 200 + n % 7))
    out.write("".join(lines))
out.flush()
time.sleep(3600)  # keep stdin open: mosquitto_pub -l drops its in-flight messages on EOF
"""

BARE_SUBSCRIBER = r"""
import sys
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
host, port, topic, qos, v5, keepalive = (
    sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "5",
    int(sys.argv[6]))
count = 0
def on_message(c, u, m):
    global count
    count += 1
def on_subscribe(c, u, mid, rc, p):
    print(-1, flush=True)
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare-" + topic.split("/")[1],
                protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, clean_session=None if v5 else True)
c.on_message = on_message
c.on_subscribe = on_subscribe
c.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=qos)
if v5:
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 20000  # the edge's in-flight window with this bench's config
    c.connect(host, port, keepalive, properties=props)
else:
    c.connect(host, port, keepalive)
c.loop_start()
for _ in sys.stdin:  # one request line -> messages received so far
    print(count, flush=True)
"""


@dataclass(frozen=True)
class Load:
    key: str
    title: str
    qos: int
    mqtt_version: str  # "5" | "3.1.1"
    bare_budget: int  # messages/s the backlog is sized for (bare subscriber)
    edge_budget: int  # messages/s the backlog is sized for (edge)


LOADS = {
    "qos1-v5": Load("qos1-v5", "QoS 1 · MQTT 5 (default, at-least-once)", 1, "5", 40_000, 35_000),
    "qos0-v311": Load("qos0-v311", "QoS 0 · MQTT 3.1.1 (telemetry)", 0, "3.1.1", 110_000, 45_000),
}


@dataclass(frozen=True)
class Phase:
    name: str
    messages_per_s: float
    cpu_s_per_100k_samples: float | None
    peak_rss_mb: float | None
    seconds: float
    ran_dry: bool

    @property
    def samples_per_s(self) -> float:
        return self.messages_per_s * SIGNALS_PER_MESSAGE


class RssWatch:
    def __init__(self, proc: psutil.Process) -> None:
        self.proc = proc
        self.peak = 0

    def sample(self) -> None:
        self.peak = max(self.peak, self.proc.memory_info().rss)


@contextmanager
def mosquitto(workdir: Path) -> Iterator[int]:
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_pub") is None:
        raise SystemExit("bench/edge_ingest: mosquitto and mosquitto_pub must be installed")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
        "queue_qos0_messages true\nset_tcp_nodelay true\nlog_dest none\n"
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


def fill(port: int, topic: str, messages: int) -> float:
    """Publish ``messages`` lines (QoS 1, C publisher); return once the broker has them all.

    A QoS 0 monitor on the same topic counts them: the broker delivers a topic's messages in
    order, so when the monitor has the last one every frozen subscriber's queue has it too.
    """
    got = {"n": 0}
    done, subscribed = threading.Event(), threading.Event()

    def on_message(_c: paho.Client, _u: object, _m: paho.MQTTMessage) -> None:
        got["n"] += 1
        if got["n"] >= messages:
            done.set()

    monitor = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-monitor-{uuid.uuid4().hex[:6]}",
        protocol=paho.MQTTv311,
    )
    monitor.on_message = on_message
    monitor.on_subscribe = lambda *_a: subscribed.set()
    monitor.on_connect = lambda c, *_a: c.subscribe(topic, qos=0)
    monitor.connect("127.0.0.1", port, KEEPALIVE_S)
    monitor.loop_start()
    if not subscribed.wait(10):
        raise SystemExit("bench/edge_ingest: the monitor could not subscribe")
    started = time.perf_counter()
    gen = subprocess.Popen([sys.executable, "-c", GENERATOR, str(messages)], stdout=subprocess.PIPE)
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
        if not done.wait(max(120.0, messages / 5_000)):
            took = f"{got['n']} of {messages} messages"
            raise SystemExit(f"bench/edge_ingest: the broker took only {took}")
    finally:
        for proc in (pub, gen):
            proc.kill()
            proc.wait(10)
        monitor.disconnect()
        monitor.loop_stop()
    return messages / (time.perf_counter() - started)


def measure(
    proc: psutil.Process,
    count: object,
    total: int,
    warmup_s: float,
    seconds: float,
    watch: RssWatch,
) -> tuple[float, float, float, bool]:
    """Thaw ``proc``; over the window: (messages/s, CPU s, window s, backlog ran dry)."""
    assert callable(count)
    proc.send_signal(signal.SIGCONT)
    _sleep_watching(warmup_s, watch)
    first, cpu0, t0 = count(), _cpu(proc), time.perf_counter()
    end = t0 + seconds
    last, t1, cpu1 = first, t0, cpu0
    while time.perf_counter() < end:
        _sleep_watching(min(2.0, end - time.perf_counter()), watch)
        last, t1, cpu1 = count(), time.perf_counter(), _cpu(proc)
        if last >= total:  # the backlog is gone: the window ends here
            break
    ran_dry = last >= total
    return (last - first) / (t1 - t0), cpu1 - cpu0, t1 - t0, ran_dry


def bare_phase(port: int, load: Load, seconds: float, warmup_s: float) -> Phase:
    topic = f"bench/{uuid.uuid4().hex[:8]}/telemetry"
    messages = int(load.bare_budget * (warmup_s + seconds + 1))
    sub = subprocess.Popen(
        [
            sys.executable,
            "-c",
            BARE_SUBSCRIBER,
            "127.0.0.1",
            str(port),
            topic,
            str(load.qos),
            load.mqtt_version,
            str(KEEPALIVE_S),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sub.stdout is not None
        sub.stdout.readline()  # subscribed
        proc = psutil.Process(sub.pid)
        proc.send_signal(signal.SIGSTOP)
        fill(port, topic, messages)
        watch = RssWatch(proc)
        rate, cpu, window, dry = measure(
            proc, lambda: _last_count(sub), messages, warmup_s, seconds, watch
        )
    finally:
        sub.kill()
        sub.wait(10)
    per_100k = cpu / (rate * window * SIGNALS_PER_MESSAGE) * 100_000 if rate else None
    return Phase("bare paho subscriber (ceiling)", rate, per_100k, watch.peak / 2**20, window, dry)


def _last_count(sub: subprocess.Popen[str]) -> int:
    assert sub.stdin is not None and sub.stdout is not None
    sub.stdin.write("\n")
    sub.stdin.flush()
    return int(sub.stdout.readline())


def edge_config(workdir: Path, port: int, topic: str, api_port: int, load: Load) -> Path:
    config = {
        "edge": {
            "id": f"bench-{uuid.uuid4().hex[:6]}",
            "data_dir": str(workdir / f"edge-{load.key}"),
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
                    "qos": load.qos,
                    "mqtt_version": load.mqtt_version,
                    "keepalive_s": KEEPALIVE_S,
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
    path = workdir / f"edge-{load.key}.yaml"
    path.write_text(json.dumps(config))
    return path


def scrape(api_port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for name in ("edge_samples_committed", "edge_analytics_run_seconds_count"):
        m = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def edge_phase(
    workdir: Path, port: int, load: Load, seconds: float, warmup_s: float
) -> tuple[Phase, float]:
    topic = f"bench/{uuid.uuid4().hex[:8]}/telemetry"
    messages = int(load.edge_budget * (warmup_s + seconds + 1))
    api_port = free_port()
    config = edge_config(workdir, port, topic, api_port, load)
    log = (workdir / f"edge-{load.key}.log").open("wb")
    edge = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--config", str(config)], stderr=log
    )
    try:
        proc = psutil.Process(edge.pid)
        watch = RssWatch(proc)
        _wait_subscribed(api_port, edge)
        proc.send_signal(signal.SIGSTOP)
        fill(port, topic, messages)
        runs: list[float] = []

        def committed() -> int:
            metrics = scrape(api_port)
            runs.append(metrics["edge_analytics_run_seconds_count"])
            return int(metrics["edge_samples_committed"] // SIGNALS_PER_MESSAGE)

        rate, cpu, window, dry = measure(proc, committed, messages, warmup_s, seconds, watch)
    finally:
        with suppress(psutil.NoSuchProcess):
            psutil.Process(edge.pid).send_signal(signal.SIGCONT)
        edge.terminate()
        edge.wait(60)
        log.close()
    per_100k = cpu / (rate * window * SIGNALS_PER_MESSAGE) * 100_000 if rate else None
    phase = Phase("atelier-edge (MQTT → DuckDB)", rate, per_100k, watch.peak / 2**20, window, dry)
    return phase, runs[-1] - runs[0]


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def _sleep_watching(seconds: float, watch: RssWatch) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        watch.sample()
        time.sleep(0.2)
    watch.sample()


def _wait_subscribed(api_port: int, edge: subprocess.Popen[bytes]) -> None:
    """Until /health says the MQTT source is connected (then give the SUBACK a moment)."""
    for _ in range(300):
        if edge.poll() is not None:
            log = Path(edge.args[-1]).with_suffix(".log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise SystemExit(f"bench/edge_ingest: the edge exited during start-up\n{tail}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=2) as r:
                if '"connected"' in r.read().decode():
                    time.sleep(0.5)
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("bench/edge_ingest: the edge's MQTT source did not connect")


def report(load: Load, bare: Phase, edge: Phase, analytics_runs: float, smoke: bool) -> bool:
    print(f"\n{load.title}")
    print(f"  {'':32} {'msg/s':>9} {'samples/s':>10} {'CPU s/100k':>11} {'peak RSS MB':>12}")
    for p in (bare, edge):
        cpu = "-" if p.cpu_s_per_100k_samples is None else f"{p.cpu_s_per_100k_samples:.2f}"
        rss = "-" if p.peak_rss_mb is None else f"{p.peak_rss_mb:.0f}"
        dry = "  (backlog ran dry: lower bound)" if p.ran_dry else ""
        print(
            f"  {p.name:32} {p.messages_per_s:>9,.0f} {p.samples_per_s:>10,.0f} {cpu:>11} "
            f"{rss:>12}  over {p.seconds:.0f} s{dry}"
        )
    ratio = edge.messages_per_s / bare.messages_per_s if bare.messages_per_s else 0.0
    runs = f"analytics runs in the edge's window: {analytics_runs:.0f}"
    print(f"  edge / ceiling: {ratio:.0%}   {runs}")
    targets = [
        ("samples/s >= 100,000", edge.samples_per_s >= 100_000),
        ("peak RSS < 300 MB", (edge.peak_rss_mb or 0) < 300),
        ("edge >= 50% of ceiling", ratio >= 0.5),
    ]
    note = " (smoke run: figures not meaningful)" if smoke else ""
    print("  targets: " + ", ".join(f"{t} {'met' if ok else 'MISSED'}" for t, ok in targets) + note)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_ingest", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="short run (CI)")
    parser.add_argument("--seconds", type=float, default=None, help="the edge's window")
    parser.add_argument("--bare-seconds", type=float, default=None, help="the ceiling's window")
    parser.add_argument("--loads", default=",".join(LOADS), help="comma-separated load keys")
    args = parser.parse_args(list(argv) if argv is not None else None)
    seconds = args.seconds or (3.0 if args.smoke else 60.0)
    bare_seconds = args.bare_seconds or (2.0 if args.smoke else 10.0)
    warmup = 1.0 if args.smoke else 3.0
    loads = [LOADS[key] for key in args.loads.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp, mosquitto(Path(tmp)) as port:
        for load in loads:
            bare = bare_phase(port, load, bare_seconds, warmup)
            edge, runs = edge_phase(Path(tmp), port, load, seconds, warmup)
            report(load, bare, edge, runs, args.smoke)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
