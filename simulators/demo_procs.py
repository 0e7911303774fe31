"""Child processes of the demo: central, simulators and edge, started by their console scripts.

The demo is the one place in ``simulators`` that starts edge and central, and it does so as in
production: separate processes (never imports). Each child gets its own process group so a
Ctrl-C in the terminal reaches only the demo, which then stops the children in order (edge
first, so its last records are committed; central last) with SIGINT, then SIGKILL after a
grace period: no orphans. On Linux each child also asks the kernel for SIGTERM when the demo
dies (``PR_SET_PDEATHSIG``), so even a SIGKILLed demo leaves no children behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the demo process dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class DemoError(Exception):
    """A child could not be started or did not become ready."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(name: str) -> str:
    """Path of a console script: next to this Python first (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise DemoError(f"console script {name!r} not found (is atelier installed?)")
    return found


@dataclass
class Child:
    """One child process with its log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C goes to the demo only; it stops us in order
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace_s: float = 10.0, sig: int = signal.SIGINT) -> int | None:
        """SIGINT (clean stop), SIGKILL after ``grace_s``; return the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL (crash tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def run_script(argv: Sequence[str], env: Mapping[str, str], timeout_s: float = 60.0) -> str:
    """Run a short command (migrate, create-token); return its stdout, raise with its stderr."""
    done = subprocess.run(
        list(argv),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise DemoError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def wait_http(url: str, child: Child, timeout_s: float = 30.0, ok: Sequence[int] = (200,)) -> None:
    """Poll ``url`` until it answers one of ``ok`` (or the child died, or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.running:
            raise DemoError(f"{child.name} exited early:\n{child.tail()}")
        try:
            if httpx.get(url, timeout=2.0).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise DemoError(f"{child.name} not ready at {url} after {timeout_s:.0f} s:\n{child.tail()}")


def wait_port(host: str, port: int, child: Child, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.running:
            raise DemoError(f"{child.name} exited early:\n{child.tail()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise DemoError(f"{child.name} not listening on {host}:{port}:\n{child.tail()}")


@dataclass(frozen=True)
class CentralTokens:
    admin: str
    edge: str


class Central:
    """``atelier-central`` on SQLite in ``data_dir``: migrate, tokens, serve."""

    def __init__(self, data_dir: Path, port: int, *, log_level: str = "WARNING") -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            "ATELIER_CENTRAL_DATABASE_URL": f"sqlite:///{data_dir / 'central.db'}",
            "ATELIER_CENTRAL_PORT": str(port),
            "ATELIER_CENTRAL_HOST": "127.0.0.1",
            "ATELIER_CENTRAL_LOG_LEVEL": log_level,
            "ATELIER_CENTRAL_DISPATCH_POLL_S": "0.2",
        }
        self.child: Child | None = None

    def admin_token(self) -> str:
        """Create (and migrate) with the CLI: the one token that can create the others."""
        out = run_script(
            [script("atelier-central"), "create-token", "--role", "admin", "--name", "demo"],
            self.env,
        )
        return out.strip()

    def edge_token(self, admin: str, edge_id: str) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/tokens",
            json={"name": edge_id, "role": "edge", "edge_id": edge_id},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=15.0,
        )
        if response.status_code != 201:
            raise DemoError(f"edge token refused: {response.status_code} {response.text[:200]}")
        return str(response.json()["token"])

    def start(self) -> Child:
        self.child = Child(
            "central",
            [script("atelier-central"), "run", "--no-migrate"],
            self.data_dir / "central.log",
            self.env,
        ).start()
        wait_http(f"{self.url}/health", self.child)
        return self.child

    def stop(self, grace_s: float = 5.0) -> int | None:
        """SIGINT; uvicorn waits for open requests (an edge's long-poll holds one up to its
        ``wait``), so after ``grace_s`` the process is killed: it holds no state in memory."""
        return None if self.child is None else self.child.stop(grace_s)
