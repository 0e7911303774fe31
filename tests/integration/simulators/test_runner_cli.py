"""SimulationRunner and the ``atelier-sim`` command, against real clients and processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Client
from pymodbus.client import AsyncModbusTcpClient

from simulators.registers import decode
from simulators.runner import SimulationRunner
from simulators.scenario import parse_scenario
from simulators.truth import read_jsonl
from tests.support.services import MQTT_URL, free_port, mqtt_broker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "scenarios" / "demo.yaml"


def demo_data(topic: str) -> dict[str, Any]:
    """The demo scenario with a topic of its own (tests share one broker)."""
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for machine in data["machines"]:
        if machine["source"]["protocol"] == "mqtt":
            machine["source"]["topic"] = topic
            machine["ideal_cycle_s"] = 0.5
        if machine["id"] == "lathe-02":
            machine["ideal_cycle_s"] = 0.2
    return data


async def test_runner_serves_all_three_protocols_and_streams_truth(tmp_path: Path) -> None:
    host, port = mqtt_broker()
    topic = f"atelier-test/{uuid.uuid4().hex[:12]}/oven"
    truth_path = tmp_path / "truth.jsonl"
    runner = SimulationRunner(
        parse_scenario(demo_data(topic)),
        opcua_port=free_port(),
        modbus_port=free_port(),
        mqtt_url=f"mqtt://{host}:{port}",
        truth_path=truth_path,
        flush_s=0.2,
    )
    async with runner:
        assert runner.opcua is not None and runner.modbus is not None and runner.mqtt is not None
        await asyncio.sleep(1.5)
        async with Client(runner.opcua.endpoint, timeout=5) as client:
            dv = await client.get_node("ns=2;s=Press01.Count").read_data_value()
            stamp = dv.SourceTimestamp
            at = int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000 + 999
            assert dv.Value.Value == runner.truth("press-01").count_at(at) > 0
        modbus = AsyncModbusTcpClient("127.0.0.1", port=runner.modbus.port, timeout=2, retries=0)
        assert await modbus.connect()
        before = time.time_ns()
        rr = await modbus.read_holding_registers(0, count=4, device_id=1)
        after = time.time_ns()
        modbus.close()
        lathe = runner.truth("lathe-02")
        assert (
            lathe.count_at(before) <= decode(rr.registers[0:2], "uint32") <= lathe.count_at(after)
        )
        streamed = read_jsonl(truth_path)
        assert {row["machine"] for row in streamed} == {"press-01", "lathe-02", "oven-03"}
    rows = read_jsonl(truth_path)
    totals = {r["machine"]: r for r in rows if r.get("kind") == "totals"}
    for machine in ("press-01", "lathe-02", "oven-03"):
        assert totals[machine]["count"] == runner.truth(machine).count
        cycles = [r for r in rows if r["machine"] == machine and r["kind"] == "cycle"]
        assert len(cycles) == totals[machine]["count"]


def scenario_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / f"scenario-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulators.cli", *args]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_cli_run_with_duration_writes_truth(tmp_path: Path) -> None:
    mqtt_broker()
    topic = f"atelier-test/{uuid.uuid4().hex[:12]}/oven"
    data = demo_data(topic)
    # Modbus and MQTT only: an OPC UA server start costs seconds (the runner test covers it).
    data["machines"] = [m for m in data["machines"] if m["id"] != "press-01"]
    scenario = scenario_file(tmp_path, data)
    truth = tmp_path / "truth.jsonl"
    done = subprocess.run(
        sim(
            "run",
            "--scenario",
            str(scenario),
            "--truth",
            str(truth),
            "--duration",
            "2",
            "--opcua-port",
            str(free_port()),
            "--modbus-port",
            str(free_port()),
            "--mqtt-url",
            MQTT_URL,
            "--cert-dir",
            str(tmp_path / "pki"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=ENV,
    )
    assert done.returncode == 0, done.stderr
    assert "modbus://127.0.0.1:" in done.stderr and "MQTT" in done.stderr
    totals = [r for r in read_jsonl(truth) if r.get("kind") == "totals"]
    assert {t["machine"] for t in totals} == {"lathe-02", "oven-03"}
    assert next(t for t in totals if t["machine"] == "lathe-02")["count"] >= 1


def test_cli_port_in_use_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            sim("run", "--scenario", str(DEMO), "--opcua-port", str(port), "--duration", "1"),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=ENV,
        )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("atelier-sim:")]
    assert errors == [f"atelier-sim: opcua: cannot listen on 127.0.0.1:{port} (port in use?)"]
    assert "Traceback" not in done.stderr


def test_cli_bad_scenario_names_the_path(tmp_path: Path) -> None:
    data = demo_data("x")
    data["machines"][1]["source"]["registers"]["count"]["word_order"] = "ADCB"
    done = subprocess.run(
        sim(
            "trace",
            "--scenario",
            str(scenario_file(tmp_path, data)),
            "--hours",
            "1",
            "--out",
            str(tmp_path / "t.csv"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert done.returncode == 2
    assert "machines[1].source.registers.count.word_order" in done.stderr


def test_cli_sigterm_stops_cleanly_and_finishes_truth(tmp_path: Path) -> None:
    data = demo_data("unused")
    data["machines"] = [m for m in data["machines"] if m["id"] == "lathe-02"]
    truth = tmp_path / "truth.jsonl"
    proc = subprocess.Popen(
        sim(
            "run",
            "--scenario",
            str(scenario_file(tmp_path, data)),
            "--truth",
            str(truth),
            "--modbus-port",
            str(free_port()),
        ),
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "truth ->" in line:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    totals = [r for r in read_jsonl(truth) if r.get("kind") == "totals"]
    assert [t["machine"] for t in totals] == ["lathe-02"]
    cycles = [r for r in read_jsonl(truth) if r.get("kind") == "cycle"]
    assert len(cycles) == totals[0]["count"]


def raw_read(port: int, unit: int) -> bytes:
    """One read of 3 holding registers on a fresh socket; b"" when the PLC dropped it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack(">HHHBBHH", 1, 0, 6, unit, 3, 0, 3))
        return sock.recv(256)


async def test_faults_scenario_injects_and_records(tmp_path: Path) -> None:
    host, port = mqtt_broker()
    data: dict[str, Any] = yaml.safe_load(
        (ROOT / "config" / "scenarios" / "faults.yaml").read_text(encoding="utf-8")
    )
    tag = uuid.uuid4().hex[:10]
    data["servers"]["mqtt"]["group"] = f"faults-{tag}"
    for machine in data["machines"]:
        machine["ideal_cycle_s"] = 0.1
        if machine["id"] == "kiln-02":
            machine["source"]["topic"] = f"atelier-test/{tag}/kiln"
    runner = SimulationRunner(
        parse_scenario(data), modbus_port=free_port(), mqtt_url=f"mqtt://{host}:{port}"
    )
    async with runner:
        assert runner.modbus is not None and runner.opcua is None
        replies = [await asyncio.to_thread(raw_read, runner.modbus.port, 7) for _ in range(40)]
        await asyncio.sleep(1.0)
    cnc = [e.cause for e in runner.truth("cnc-01").injected()]
    busy = sum(1 for r in replies if r[7:9] == bytes((0x83, 0x06)))
    assert cnc.count("modbus_busy") == busy > 0
    assert cnc.count("modbus_drop") == replies.count(b"")
    kiln = {e.cause for e in runner.truth("kiln-02").injected()}
    assert kiln <= {"mqtt_malformed", "mqtt_wrong_type", "mqtt_oversized"}
    assert runner.truth("robot-03").count > 0
