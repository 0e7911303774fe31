"""A small fast plant for the edge integration tests: one machine per protocol.

Each machine is held stopped for ``hold_s`` after the simulators start (so the edge has
connected and seen the counters at zero), produces for ``run_s``, then stops for good — the
ground truth is then final and the edge's totals must equal it exactly.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from simulators.scenario import Scenario, parse_scenario

STATES = {"1": "running", "2": "stopped", "3": "fault", "4": "setup", "5": "idle"}
MACHINES = ("press-01", "lathe-02", "oven-03")


class Plant:
    def __init__(
        self,
        *,
        opcua_port: int,
        modbus_port: int,
        mqtt_host: str,
        mqtt_port: int,
        hold_s: float,
        run_s: float,
    ) -> None:
        self.opcua_port = opcua_port
        self.modbus_port = modbus_port
        self.mqtt_url = f"mqtt://{mqtt_host}:{mqtt_port}"
        self.tag = uuid.uuid4().hex[:10]
        self.topic = f"atelier-test/{self.tag}/oven-03/telemetry"
        self.hold_s = hold_s
        self.run_s = run_s

    def _events(self) -> list[dict[str, Any]]:
        return [
            {"at_s": 0, "state": "stopped", "duration_s": self.hold_s},
            {"at_s": self.hold_s + self.run_s, "state": "stopped", "duration_s": 1e6},
        ]

    def scenario(self) -> Scenario:
        behaviour = {"jitter": 0.1, "reject_rate": 0.05, "setup_s": 0}
        return parse_scenario(
            {
                "name": f"edge-it-{self.tag}",
                "seed": 11,
                "servers": {
                    "opcua": {"host": "127.0.0.1", "port": self.opcua_port, "tick_s": 0.05},
                    "modbus": {"host": "127.0.0.1", "port": self.modbus_port},
                    "mqtt": {"url": self.mqtt_url, "qos": 1, "tick_s": 0.05},
                },
                "machines": [
                    {
                        "id": "press-01",
                        "ideal_cycle_s": 0.1,
                        "behaviour": behaviour,
                        "events": self._events(),
                        "source": {"protocol": "opcua", "prefix": "Press01"},
                    },
                    {
                        "id": "lathe-02",
                        "ideal_cycle_s": 0.2,
                        "behaviour": behaviour,
                        "events": self._events(),
                        "source": {
                            "protocol": "modbus",
                            "unit": 1,
                            "registers": {
                                "count": {"address": 0, "type": "uint32", "word_order": "ABCD"},
                                "reject": {"address": 2, "type": "uint16"},
                                "state": {"address": 3, "type": "uint16"},
                            },
                        },
                    },
                    {
                        "id": "oven-03",
                        "ideal_cycle_s": 0.15,
                        "behaviour": behaviour,
                        "events": self._events(),
                        "source": {
                            "protocol": "mqtt",
                            "topic": self.topic,
                            "format": "json",
                            "period_s": 0.5,
                        },
                    },
                ],
            }
        )

    def edge_config(self, data_dir: Path, api_port: int) -> dict[str, Any]:
        return {
            "edge": {
                "id": f"it-{self.tag}",
                "data_dir": str(data_dir),
                "timezone": "UTC",
                "api": {"host": "127.0.0.1", "port": api_port},
            },
            "defaults": {"stop_threshold_s": 30},
            "machines": [
                {
                    "id": "press-01",
                    "ideal_cycle_s": 0.1,
                    "source": {
                        "protocol": "opcua",
                        "endpoint": f"opc.tcp://127.0.0.1:{self.opcua_port}",
                        "signals": {
                            "count": {"node": "ns=2;s=Press01.Count"},
                            "reject": {"node": "ns=2;s=Press01.Reject"},
                            "state": {"node": "ns=2;s=Press01.State", "states": STATES},
                        },
                    },
                },
                {
                    "id": "lathe-02",
                    "ideal_cycle_s": 0.2,
                    "source": {
                        "protocol": "modbus",
                        "host": "127.0.0.1",
                        "port": self.modbus_port,
                        "unit": 1,
                        "poll_ms": 100,
                        "signals": {
                            "count": {"address": 0, "type": "uint32"},
                            "reject": {"address": 2, "type": "uint16"},
                            "state": {"address": 3, "type": "uint16", "states": STATES},
                        },
                    },
                },
                {
                    "id": "oven-03",
                    "ideal_cycle_s": 0.15,
                    "source": {
                        "protocol": "mqtt",
                        "url": self.mqtt_url,
                        "topic": self.topic,
                        "timestamp_field": "ts",
                        "signals": {
                            "count": {"field": "counters.total"},
                            "reject": {"field": "counters.reject"},
                            "state": {
                                "field": "status",
                                "states": {
                                    "RUN": "running",
                                    "IDLE": "idle",
                                    "STOP": "stopped",
                                    "ALARM": "fault",
                                    "SETUP": "setup",
                                },
                            },
                        },
                    },
                },
            ],
        }
