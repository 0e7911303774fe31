"""Serve the central app under uvicorn: one process, or N worker processes that each listen
on their own ``SO_REUSEPORT`` socket.

Why not ``uvicorn.run(..., workers=N)``: its workers share one listening socket, and an
asyncio server accepts every pending connection each time it wakes, so when many edges
connect at once (a benchmark start, every edge reconnecting after central restarts) the
first worker to wake takes nearly all of them and keeps them for the life of the keep-alive
connections (measured: 49 of 50 edges on one worker, 37k instead of 50k+ records/s).
With one ``SO_REUSEPORT`` socket per worker the Linux kernel picks the worker for each new
connection by a hash of its addresses, before any worker wakes: even shares (23/27).

The supervisor is uvicorn's own (:class:`uvicorn.supervisors.Multiprocess`: spawns the
workers, forwards SIGINT/SIGTERM and waits for them, replaces a worker that dies, SIGHUP
rolls the workers over one by one, SIGTTIN/SIGTTOU add or remove one). The only change is
the socket handed to it: a :class:`ReusePortSocket`, bound in the supervisor but never
listening there, re-created as a new socket on the same address in each worker process it
is pickled into (uvicorn passes sockets to its spawned workers by pickling them).

Worker deaths: a worker that dies after it started (killed by the OOM killer, a crash in a
C extension) is replaced and its death logged as a warning; the other worker keeps its
edges meanwhile and edges resend what was in flight (ingest is idempotent), which is what
a plant operator wants rather than the whole service going down with every edge
reconnecting. A worker that fails *while starting* (the app cannot start: bad settings,
database unreachable with ``migrate_on_start``) would fail the same way again, so the
supervisor stops and ``atelier-central run`` exits with status 3 for systemd or the
operator to see. A stop signal ends it with status 0.

Where ``SO_REUSEPORT`` does not balance connections (only Linux spreads them; BSD/macOS have
the option with other semantics, Windows lacks it) this falls back to
``uvicorn.run(workers=N)``.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APP = "central.app:create_app"
log = logging.getLogger("uvicorn.error")  # the supervisor's own messages go there too


def reuseport_balances() -> bool:
    """True where one ``SO_REUSEPORT`` listening socket per process spreads connections."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def serve(*, host: str, port: int, workers: int, log_level: str) -> int:
    """Serve until stopped; the exit status (0 after a stop signal)."""
    if workers == 1 or not reuseport_balances():
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level)
        return 0
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, workers=workers, log_level=log_level
    )
    try:
        listener = ReusePortSocket.bound_to(host, port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc)
        return STARTUP_FAILURE
    with listener:
        log.info(
            "Uvicorn running on http://%s:%d with %d workers, one SO_REUSEPORT socket each",
            *listener.getsockname()[:2],
            workers,
        )
        supervisor = Supervisor(config, sockets=[listener])
        supervisor.run()
    return 0 if supervisor.stop_signal is not None else STARTUP_FAILURE


class ReusePortSocket(socket.socket):
    """A TCP socket bound with ``SO_REUSEPORT`` that, pickled into another process, becomes
    a new socket bound to the same address there (not a duplicate of this one).

    In the supervisor it is bound and never listens, so the kernel hands it no connection;
    it reserves the port (no other program can take it while workers are replaced), detects
    a port in use before any worker starts, and fixes the port when 0 was asked for.
    """

    @classmethod
    def bound_to(cls, host: str, port: int) -> ReusePortSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            _bind_reuseport(sock, host, port)
        except OSError:
            sock.close()
            raise
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (_worker_socket, (self.family, host, port))


def _bind_reuseport(sock: socket.socket, host: str, port: int) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))


def _worker_socket(family: int, host: str, port: int) -> socket.socket:
    """In a worker process: its own socket on the supervisor's address (uvicorn listens).

    The protocol is named (``IPPROTO_TCP``, not the default 0): accepted connections inherit
    it, and asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on sockets whose
    protocol says TCP. Without it every response waited for the client's delayed ACK: ~50 ms
    a request instead of ~9 on a 100-record batch (measured, one edge posting in a loop).
    """
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        _bind_reuseport(sock, host, port)
    except OSError as exc:
        sock.close()
        print(f"worker cannot bind {host}:{port}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)  # the supervisor stops rather than retrying
    return sock


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor (uvicorn ≥ 0.30), remembering whether a stop signal ended
    it, logging a worker's death with its exit status, and stopping when a worker fails to
    start (uvicorn does the latter itself only in recent versions)."""

    stop_signal: signal.Signals | None = None

    def handle_int(self) -> None:
        self.stop_signal = signal.SIGINT
        super().handle_int()

    def handle_term(self) -> None:
        self.stop_signal = signal.SIGTERM
        super().handle_term()

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for process in self.processes:
            if process.process.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start; stopping", process.pid)
                self.should_exit.set()
                return
        before = list(self.processes)
        super().keep_subprocess_alive()  # replaces dead (and hung) workers
        # logged from what uvicorn replaced, not from a check of our own before it: a worker
        # dying between the two checks would be replaced without a word
        for old, new in zip(before, self.processes, strict=True):
            if new is not old:
                log.warning(
                    "worker [%s] died (%s); started a replacement [%s]",
                    old.pid,
                    _status(old.process.exitcode),
                    new.pid,
                )


def _status(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit status {exitcode}"
