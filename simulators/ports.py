"""Fail fast on a port that is taken, before a slow server start (asyncua needs ~1 s)."""

from __future__ import annotations

import socket

from simulators.errors import PortInUseError


def ensure_port_free(what: str, host: str, port: int) -> None:
    """Raise ``PortInUseError`` when ``host:port`` cannot be bound right now."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # Same option as asyncio's create_server, so TIME_WAIT leftovers are not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(what, host, port) from exc
