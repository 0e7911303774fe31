"""``atelier-central run`` stops at once on SIGTERM / SIGINT even with a dispatch long-poll
open: the pending long-poll answers 304 with the current version, then the process exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from central.cli import main
from tests.support.services import free_port

pytestmark = pytest.mark.integration
EDGE = "stop-edge"
STOP_BUDGET_S = 2.0


def _central(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("atelier-central")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "central.cli"]
    env = {
        **os.environ,
        "ATELIER_CENTRAL_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "ATELIER_CENTRAL_PORT": str(port),
        "ATELIER_CENTRAL_LOG_LEVEL": "WARNING",
        "ATELIER_CENTRAL_JOBS_ENABLED": "false",
    }
    return subprocess.Popen([*cmd, "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE)


@pytest.fixture
def token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("ATELIER_CENTRAL_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    assert main(["create-token", "--role", "edge", "--name", "e", "--edge", EDGE]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def http(token: str) -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=40) as client:
        yield client


def _wait_started(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/health", timeout=2)
            return
        except httpx.TransportError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "central did not start"
            time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_ends_open_long_polls_at_once(
    tmp_path: Path, http: httpx.Client, sig: signal.Signals
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _central(tmp_path, port)
    try:
        _wait_started(proc, url)
        dispatch = f"{url}/api/v1/edges/{EDGE}/dispatch"
        version = http.get(dispatch).json()["version"]
        with ThreadPoolExecutor(1) as pool:
            poll = pool.submit(http.get, dispatch, params={"since": version, "wait": 25})
            time.sleep(1.0)  # the long-poll is now waiting inside central
            assert not poll.done()
            signalled = time.monotonic()
            proc.send_signal(sig)
            answer = poll.result(timeout=20)
            answered_s = time.monotonic() - signalled
            proc.wait(timeout=20)
            stopped_s = time.monotonic() - signalled
        assert (answer.status_code, answer.headers["ETag"]) == (304, f'"{version}"')
        # uvicorn re-raises the signal once it has shut down cleanly (the parent sees why)
        errors = proc.stderr.read().decode() if proc.stderr else ""
        assert proc.returncode in (0, -sig), errors
        assert "Traceback" not in errors, errors
        assert answered_s < STOP_BUDGET_S and stopped_s < STOP_BUDGET_S, (answered_s, stopped_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
