"""``atelier-demo``: the whole plant in one command, nothing to install.

Starts, each as its own process through its console script (as in production): the central
service on SQLite in ``--data-dir`` (a temporary folder by default), the three simulators of
``config/scenarios/demo.yaml``, and the edge with a config derived from ``config/edge.yaml``
(the demo's ports and URLs, every machine on ``auto_start_order``). Without ``--mqtt-url`` an
in-process MQTT broker (amqtt, MQTT 3.1.1 only: the edge's MQTT sources are set to
``mqtt_version: "3.1.1"``) serves the oven. It seeds a small plant through the planning API
(customers A/B/C, items with BOMs, sales orders, released work orders on each machine), prints
the URLs, and shows a live view of each machine until Ctrl-C (or ``--duration``), then stops
every child (edge first, central last): no orphans.

Exit codes: 0 after a clean stop, 1 when a part could not start (its log tail is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.live import Live

from simulators.demo_plant import DEMO_SCENARIO, EDGE_YAML, Plant, Ports
from simulators.demo_procs import DemoError, free_port
from simulators.demo_seed import Planner, seed_plant
from simulators.demo_view import fetch_rows, plain, render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atelier-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="keep everything here (default: temp)")
    parser.add_argument("--mqtt-url", help="use this broker instead of the embedded one")
    parser.add_argument("--duration", type=float, help="stop after S seconds (tests)")
    parser.add_argument("--no-live", action="store_true", help="plain lines (non-TTY)")
    parser.add_argument("--refresh-s", type=float, default=1.0)
    parser.add_argument(
        "--free-ports", action="store_true", help="pick free ports instead of 8000/8080/4840/5020"
    )
    parser.add_argument("--central-port", type=int)
    parser.add_argument("--edge-port", type=int)
    parser.add_argument("--scenario", type=Path, default=DEMO_SCENARIO)
    parser.add_argument("--edge-config", type=Path, default=EDGE_YAML)
    return parser


class EmbeddedBroker:
    """amqtt on 127.0.0.1:port in a thread of its own (its own event loop)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"mqtt://127.0.0.1:{port}"
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> EmbeddedBroker:
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self.error is not None:
            raise DemoError(f"embedded MQTT broker did not start: {self.error}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the main thread, which exits with 1
            self.error = exc
            self._ready.set()

    async def _main(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await broker.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await broker.shutdown()


def _speak_3_1_1(plant: Plant) -> None:
    """The embedded broker knows MQTT 3.1.1 only: the edge's MQTT sources must not use 5."""
    for m in plant.base["machines"]:
        src = m["source"]
        if src["protocol"] == "mqtt":
            source = {**src, "url": plant.ports.mqtt_url, "mqtt_version": "3.1.1"}
            plant.edge_overrides[str(m["id"])] = {
                **plant.edge_overrides.get(str(m["id"]), {}),
                "source": source,
            }


def _ports(args: argparse.Namespace, mqtt_url: str) -> Ports:
    ports = Ports.free(mqtt_url) if args.free_ports else Ports(mqtt_url=mqtt_url)
    if args.central_port:
        ports.central = args.central_port
    if args.edge_port:
        ports.edge_api = args.edge_port
    return ports


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set an event instead of raising in the middle of a child's start."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _tablet_url(plant: Plant) -> str:
    url = f"{plant.edge_url}/tablet/"
    with contextlib.suppress(httpx.HTTPError):
        if httpx.get(url, timeout=3.0).status_code != 404:
            return url
    return f"{url} (not served by this edge build)"


def _announce(console: Console, plant: Plant, admin: str, broker: str) -> None:
    console.print("[bold]Atelier demo is running[/]")
    console.print(f"  central API docs  {plant.central_url}/docs")
    console.print(f"  planner token     {admin}   (Authorization: Bearer …; shown once)")
    console.print(f"  edge API          {plant.edge_url}/api/v1/machines  ·  /health  ·  /metrics")
    console.print(f"  operator tablet   {_tablet_url(plant)}")
    console.print(f"  MQTT broker       {broker}")
    console.print(f"  data and logs     {plant.data_dir}")


def _watch(plant: Plant, args: argparse.Namespace, stop: threading.Event, console: Console) -> None:
    deadline = None if args.duration is None else time.monotonic() + args.duration
    assert plant.tokens is not None
    auth = {"Authorization": f"Bearer {plant.tokens.admin}"}
    with (
        httpx.Client(base_url=plant.edge_url, timeout=5.0) as edge,
        httpx.Client(base_url=plant.central_url, headers=auth, timeout=5.0) as central,
        Live(render([]), console=console, auto_refresh=False, transient=False)
        if not args.no_live
        else contextlib.nullcontext() as live,
    ):
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                rows = fetch_rows(edge, central)
            except httpx.HTTPError as exc:
                rows, note = [], f"waiting: {type(exc).__name__}"
            else:
                note = ""
            if live is not None:
                live.update(render(rows, note), refresh=True)
            else:
                console.print(plain(rows) or note, highlight=False)
            stop.wait(args.refresh_s)


def run(args: argparse.Namespace, console: Console, stop: threading.Event) -> int:
    own_dir = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="atelier-demo-")) if own_dir else args.data_dir
    with contextlib.ExitStack() as stack:
        mqtt_url = args.mqtt_url
        if mqtt_url is None:
            mqtt_url = stack.enter_context(EmbeddedBroker(free_port())).url
        plant = Plant(
            data_dir,
            _ports(args, mqtt_url),
            scenario=args.scenario,
            base_edge_config=args.edge_config,
        )
        if args.mqtt_url is None:
            _speak_3_1_1(plant)
        stack.callback(plant.stop)
        try:
            tokens = plant.start_central()
            with Planner(plant.central_url, tokens.admin) as planner:
                seed_plant(planner, plant.edge_id, plant.machine_cycles())
            plant.start_sims()
            plant.start_edge()
        except DemoError as exc:
            console.print(f"[red]atelier-demo: {exc}[/]")
            return 1
        _announce(console, plant, tokens.admin, mqtt_url)
        _watch(plant, args, stop, console)
        console.print("stopping: edge, simulators, central …")
    if own_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    with _stop_on_signals() as stop:
        return run(args, console, stop)


if __name__ == "__main__":
    sys.exit(main())
