"""``atelier-demo`` as a user runs it: one command, exercised over HTTP, stopped with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import wait_for
from tests.support.services import MQTT_URL, mqtt_broker

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXERCISE_S = 30.0


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc: no extra dependency)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _url(text: str, label: str) -> str:
    match = re.search(rf"{label}\s+(http://127\.0\.0\.1:\d+)", text)
    return match.group(1) if match else ""


def test_demo_runs_the_plant_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    mqtt_broker()
    out = tmp_path / "demo.out"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "atelier-demo"),
                "--free-ports",
                "--no-live",
                "--refresh-s",
                "2",
                "--mqtt-url",
                MQTT_URL,
                "--data-dir",
                str(tmp_path / "demo"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:

        def announced() -> str | None:
            text = out.read_text()
            return text if "operator tablet" in text or proc.poll() is not None else None

        text = wait_for(announced, 90, "the demo's URLs")
        assert proc.poll() is None, text
        central = _url(text, "central API docs")
        edge = _url(text, "edge API")
        token = re.search(r"planner token\s+(\S+)", text)
        assert central and edge and token, text
        children = _children(proc.pid)
        assert len(children) >= 3, children  # central, simulators, edge
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        assert httpx.get(f"{central}/docs", timeout=5).status_code == 200
        deadline = time.monotonic() + EXERCISE_S
        seen: set[str] = set()
        while time.monotonic() < deadline:
            machines = httpx.get(f"{edge}/api/v1/machines", timeout=5).json()
            seen |= {m["active_order"] for m in machines if m["active_order"]}
            time.sleep(2)
        assert {"WO-1001", "WO-1002", "WO-1003"} <= seen
        press = httpx.get(f"{central}/api/v1/work-orders/WO-1001", headers=auth, timeout=5).json()
        assert press["status"] == "in_progress" and press["qty_good"] > 0, press
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, out.read_text()[-3000:]
        assert not [c for c in children if _alive(c)]  # no orphans
        assert "stopping" in out.read_text()
    finally:
        if proc.poll() is None:  # a failed assertion: stop the demo cleanly first
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()  # its children follow (PR_SET_PDEATHSIG)
                proc.wait()
