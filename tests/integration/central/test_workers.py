"""``atelier-central run --workers 2`` as real processes: connections arriving together are
spread over both workers (one SO_REUSEPORT socket each, central.serve), a killed worker is
replaced, SIGTERM stops the whole tree with status 0, a worker that cannot start stops it
with status 3.

Which worker holds a connection is read from the kernel (psutil: each worker process's
established TCP connections on the port), not from anything the API exposes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from central.serve import reuseport_balances
from tests.support.services import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not reuseport_balances(), reason="SO_REUSEPORT balancing is Linux's"),
]
START_BUDGET_S = 60.0  # two workers import the app at once on a shared 2-core machine
STOP_BUDGET_S = 10.0


class Central:
    """``atelier-central run --workers 2`` on SQLite in ``tmp``, its log in a file."""

    def __init__(self, tmp: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.log = tmp / f"central-{self.port}.log"
        script = Path(sys.executable).with_name("atelier-central")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "central.cli"]
        environ = {
            **os.environ,
            "ATELIER_CENTRAL_DATABASE_URL": f"sqlite:///{tmp / 'c.db'}",
            "ATELIER_CENTRAL_JOBS_ENABLED": "false",
            "ATELIER_CENTRAL_LOG_LEVEL": "INFO",
            **env,
        }
        with self.log.open("wb") as out:  # a file, not a pipe nobody drains
            self.proc = subprocess.Popen(
                [*cmd, "run", "--workers", "2", "--port", str(self.port), *args],
                cwd=tmp,
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def workers(self) -> list[psutil.Process]:
        """The supervisor's children listening on the port (not multiprocessing's helper)."""
        return [
            child
            for child in psutil.Process(self.proc.pid).children()
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
                for c in _connections(child)
            )
        ]

    def wait_workers(self, old: frozenset[int] = frozenset()) -> list[psutil.Process]:
        """Wait for two listening workers, none of them in ``old``."""
        deadline = time.monotonic() + START_BUDGET_S
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            workers = [w for w in self.workers() if w.pid not in old]
            if len(workers) == 2 and _answers(self.port):
                return workers
            assert time.monotonic() < deadline, f"workers did not start:\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=STOP_BUDGET_S)

    def kill(self) -> None:
        """Leave nothing running (the tree, should a test have failed half-way)."""
        if self.proc.poll() is None:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
            self.proc.kill()
        self.proc.wait()


def _connections(process: psutil.Process) -> list[Any]:
    try:
        connections: list[Any] = process.net_connections(kind="tcp")
        return connections
    except psutil.NoSuchProcess:  # a worker that just died
        return []


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            return _health(sock).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _health(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: central\r\n\r\n")
    return sock.recv(4096)


@pytest.fixture(scope="module")
def servers() -> Iterator[list[Central]]:
    started: list[Central] = []
    yield started
    for server in started:
        server.kill()


@pytest.fixture
def central(servers: list[Central], tmp_path_factory: pytest.TempPathFactory) -> Central:
    """A running server, shared by the module's tests (two workers take seconds to start);
    a new one after a test stopped it."""
    if not servers or servers[-1].proc.poll() is not None:
        servers.append(Central(tmp_path_factory.mktemp("workers")))
    servers[-1].wait_workers()
    return servers[-1]


def test_connections_arriving_together_are_spread_over_both_workers(central: Central) -> None:
    # 40 edges reconnecting at once: every connection is queued before a worker wakes, the
    # case where a shared listening socket hands (nearly) all of them to one worker
    socks = [socket.create_connection(("127.0.0.1", central.port)) for _ in range(40)]
    try:
        for sock in socks:
            assert _health(sock).startswith(b"HTTP/1.1 200")
        held = {
            w.pid: sum(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == central.port
                for c in _connections(w)
            )
            for w in central.workers()
        }
    finally:
        for sock in socks:
            sock.close()
    assert sum(held.values()) == 40, held
    # the kernel hashes each connection's addresses: P(a share < 5 of 40) is about 1e-7
    assert min(held.values()) >= 5, held


def test_a_killed_worker_is_replaced_and_the_other_keeps_serving(central: Central) -> None:
    victim, survivor = central.wait_workers()
    victim.kill()  # SIGKILL, as the OOM killer does
    victim.wait(5)
    # until the replacement listens, the kernel sends every new connection to the survivor
    assert all(_answers(central.port) for _ in range(10))
    workers = central.wait_workers(old=frozenset({victim.pid}))
    assert survivor.pid in {w.pid for w in workers}
    assert central.proc.poll() is None
    assert f"worker [{victim.pid}] died (killed by SIGKILL)" in central.log.read_text()


def test_sigterm_stops_every_process_with_status_0(central: Central) -> None:
    workers = central.wait_workers()
    started = time.monotonic()
    assert central.stop() == 0, central.log.read_text()
    assert time.monotonic() - started < STOP_BUDGET_S
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def test_a_worker_that_cannot_start_stops_the_service_with_status_3(tmp_path: Path) -> None:
    # the supervisor does not migrate; each worker migrates in its lifespan and finds no
    # database, which a restart cannot fix
    server = Central(
        tmp_path,
        "--no-migrate",
        ATELIER_CENTRAL_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
        ATELIER_CENTRAL_MIGRATE_ON_START="true",
    )
    try:
        assert server.proc.wait(timeout=START_BUDGET_S) == 3, server.log.read_text()
    finally:
        server.kill()
