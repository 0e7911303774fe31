"""A whole plant as separate processes: central, simulators, edge (demo and end-to-end tests).

:class:`Plant` derives the edge config from ``config/edge.yaml`` (ports, URLs, data dir, every
machine on ``auto_start_order``), starts each part by its console script and stops them in
order. Nothing of ``edge`` or ``central`` is imported: they are peers reached over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulators.demo_procs import Central, CentralTokens, Child, free_port, script, wait_http

ROOT = Path(__file__).resolve().parent.parent
EDGE_YAML = ROOT / "config" / "edge.yaml"
DEMO_SCENARIO = ROOT / "config" / "scenarios" / "demo.yaml"


@dataclass
class Ports:
    central: int = 8000
    edge_api: int = 8080
    opcua: int = 4840
    modbus: int = 5020
    mqtt_url: str = "mqtt://127.0.0.1:1883"

    @classmethod
    def free(cls, mqtt_url: str) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port(), mqtt_url)


def edge_config(
    base: dict[str, Any],
    *,
    data_dir: Path,
    ports: Ports,
    central_url: str | None,
    auto_start: bool = True,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``base`` (config/edge.yaml as data) pointed at this plant's ports and folders."""
    cfg = dict(base)
    cfg["edge"] = {
        **base["edge"],
        "data_dir": str(data_dir),
        "api": {"host": "127.0.0.1", "port": ports.edge_api},
    }
    if central_url is not None:
        cfg["central"] = {"url": central_url, "token_env": "ATELIER_EDGE_TOKEN"}
    machines = []
    for m in base["machines"]:
        m = {**m, "source": dict(m["source"]), "auto_start_order": auto_start}
        src = m["source"]
        if src["protocol"] == "opcua":
            src["endpoint"] = f"opc.tcp://127.0.0.1:{ports.opcua}"
        elif src["protocol"] == "modbus":
            src["port"] = ports.modbus
        else:
            src["url"] = ports.mqtt_url
        m.update((overrides or {}).get(m["id"], {}))
        machines.append(m)
    cfg["machines"] = machines
    return cfg


@dataclass
class Plant:
    """central + simulators + edge under ``data_dir``; ``start_*`` in that order, ``stop()``."""

    data_dir: Path
    ports: Ports
    scenario: Path = DEMO_SCENARIO
    base_edge_config: Path = EDGE_YAML
    edge_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    edge_url_for_central: str | None = None  # e.g. through a proxy
    central: Central | None = None
    tokens: CentralTokens | None = None
    sims: Child | None = None
    edge: Child | None = None
    edge_id: str = ""  # default: the id in the base config

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.base = yaml.safe_load(self.base_edge_config.read_text(encoding="utf-8"))
        if self.edge_id:
            self.base["edge"] = {**self.base["edge"], "id": self.edge_id}
        self.edge_id = str(self.base["edge"]["id"])
        self.truth_path = self.data_dir / "truth.jsonl"
        self.edge_yaml = self.data_dir / "edge.yaml"

    @property
    def central_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.central}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.edge_api}"

    def machine_cycles(self) -> dict[str, float]:
        return {str(m["id"]): float(m["ideal_cycle_s"]) for m in self.base["machines"]}

    def start_central(self) -> CentralTokens:
        self.central = Central(self.data_dir / "central", self.ports.central)
        self.central.data_dir.mkdir(parents=True, exist_ok=True)
        if self.tokens is None:
            admin = self.central.admin_token()
            self.central.start()
            self.tokens = CentralTokens(admin, self.central.edge_token(admin, self.edge_id))
        else:
            self.central.start()
        return self.tokens

    def start_sims(self, *extra: str) -> Child:
        argv = [
            script("atelier-sim"),
            "run",
            "--scenario",
            str(self.scenario),
            "--truth",
            str(self.truth_path),
            "--opcua-port",
            str(self.ports.opcua),
            "--modbus-port",
            str(self.ports.modbus),
            "--mqtt-url",
            self.ports.mqtt_url,
            "--cert-dir",
            str(self.data_dir / "sim-certs"),
            *extra,
        ]
        self.sims = Child("simulators", argv, self.data_dir / "sims.log").start()
        return self.sims

    def write_edge_config(self) -> Path:
        cfg = edge_config(
            self.base,
            data_dir=self.data_dir / "edge",
            ports=self.ports,
            central_url=self.edge_url_for_central or self.central_url,
            overrides=self.edge_overrides,
        )
        self.edge_yaml.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        return self.edge_yaml

    def start_edge(self, timeout_s: float = 60.0) -> Child:
        if not self.edge_yaml.exists():
            self.write_edge_config()
        env = {"ATELIER_EDGE_TOKEN": self.tokens.edge if self.tokens else ""}
        argv = [script("atelier-edge"), "run", "--config", str(self.edge_yaml)]
        self.edge = Child("edge", argv, self.data_dir / "edge.log", env).start()
        # /health is 503 until every source is up: any answer means the API is serving
        wait_http(f"{self.edge_url}/health", self.edge, timeout_s, ok=(200, 503))
        return self.edge

    def stop(self) -> None:
        """Edge first (it commits what it holds), then the simulators, then central."""
        for child in (self.edge, self.sims):
            if child is not None:
                child.stop()
        if self.central is not None:
            self.central.stop()
