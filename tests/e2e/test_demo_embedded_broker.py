"""``atelier-demo`` without ``--mqtt-url``: the embedded amqtt broker (MQTT 3.1.1 only) serves
the oven, and the edge's MQTT source reaches it (it is set to ``mqtt_version: "3.1.1"``).

The broker runs inside the demo's process, not this one: its warnings cannot fail this test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DURATION_S = 30


def _oven(edge: str) -> dict[str, Any] | None:
    """The oven's source on /health and its row of /api/v1/machines, once it has samples, a
    state from them and its order."""
    try:
        sources = httpx.get(f"{edge}/health", timeout=5).json()["sources"]
        machines = httpx.get(f"{edge}/api/v1/machines", timeout=5).json()
    except httpx.HTTPError:
        return None
    source = next(s for s in sources if s["name"] == "oven-03")
    if source["state"] != "connected" or source["samples"] == 0:
        return None
    machine = next(m for m in machines if m["id"] == "oven-03")
    if machine["active_order"] is None or machine["state"] == "unknown":
        return None  # the store commits samples a moment after the source counts them
    return {"source": source, "machine": machine}


def test_oven_produces_through_the_embedded_broker(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    data_dir = tmp_path / "demo"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "atelier-demo"),
                "--free-ports",
                "--no-live",
                "--duration",
                str(DURATION_S),
                "--data-dir",
                str(data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:

        def announced() -> str | None:
            text = out.read_text()
            return text if "operator tablet" in text or proc.poll() is not None else None

        text = wait_for(announced, 60, "the demo's URLs")
        assert proc.poll() is None, text
        broker = re.search(r"MQTT broker\s+(mqtt://127\.0\.0\.1:\d+)", text)
        edge = re.search(r"edge API\s+(http://127\.0\.0\.1:\d+)", text)
        assert broker and edge, text
        assert broker.group(1) != "mqtt://127.0.0.1:1883"  # the embedded one, not Mosquitto
        oven = [
            m
            for m in yaml.safe_load((data_dir / "edge.yaml").read_text())["machines"]
            if m["id"] == "oven-03"
        ]
        assert oven[0]["source"]["mqtt_version"] == "3.1.1"
        assert oven[0]["source"]["url"] == broker.group(1)
        seen = wait_for(lambda: _oven(edge.group(1)), DURATION_S - 5, "samples from the oven")
        assert seen["machine"]["last_sample_at"] is not None, seen
        assert seen["machine"]["state"] in ("running", "idle", "stopped", "setup"), seen
        assert seen["machine"]["active_order"] == "WO-1003", seen
        assert proc.wait(60) == 0, out.read_text()[-3000:]
    finally:
        if proc.poll() is None:  # a failed assertion: stop the demo cleanly first
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()  # its children follow (PR_SET_PDEATHSIG)
                proc.wait()
