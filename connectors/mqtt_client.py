"""paho's client, reading its socket in large chunks and many packets per wake-up.

paho reads each PUBLISH with three ``recv`` calls (command byte, length, body) and handles one
packet per ``select``: four system calls a message, each of which releases the GIL and must
take it back. Alone in a process that is cheap; in the edge, where the event loop and the
DuckDB writer also want the GIL, each hand-back waits for another thread's turn, and paho's
thread spent most of its time waiting (py-spy on bench/edge_ingest.py: ``take_gil`` under
``select`` and ``recv``). Here:

- :class:`BufferedSocket` reads up to ``CHUNK`` bytes per system call and serves paho's small
  reads from that buffer; its ``pending()`` (the hook paho already uses for TLS) tells paho not
  to wait in ``select`` while buffered bytes remain;
- :class:`Client` lets ``loop_read`` go on through buffered packets (up to
  ``PACKETS_PER_READ``) before paho's loop returns to ``select``, writes and keep-alive.

The protocol handling stays paho's. The subclass relies on one private hook of paho 2.x,
``_create_socket`` (the pin is ``paho-mqtt>=2.1,<3``; tests/unit/connectors/test_mqtt_client.py
checks that the hook is still called).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

CHUNK = 256 * 1024
PACKETS_PER_READ = 512  # then paho's loop writes (acks), pings, and looks at its wake-up pipe


class BufferedSocket:
    """A socket whose reads come from a buffer refilled ``CHUNK`` bytes at a time.

    Everything but ``recv`` and ``pending`` goes to the wrapped socket (plain or TLS).
    """

    __slots__ = ("_buf", "_pos", "_sock", "_tls_pending")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0
        # paho asks pending() once a message: decide TLS or not once, here
        self._tls_pending = sock.pending if isinstance(sock, ssl.SSLSocket) else None

    def recv(self, bufsize: int) -> bytes:
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            buf = self._sock.recv(max(bufsize, CHUNK))  # BlockingIOError / SSLWantRead pass up
            if len(buf) <= bufsize:
                return buf
            pos = 0
        end = min(pos + bufsize, len(buf))
        self._buf, self._pos = buf, end
        return buf[pos:end]

    def pending(self) -> int:
        """Bytes readable without a system call (buffered here, or decrypted by TLS)."""
        tls = self._tls_pending
        return len(self._buf) - self._pos + (tls() if tls is not None else 0)

    def fileno(self) -> int:
        return self._sock.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class Client(paho.Client):
    """``paho.Client`` with :class:`BufferedSocket` reads (TCP and TLS; websockets as paho)."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):  # ssl.SSLSocket included; not the websocket wrapper
            return BufferedSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        sock = self.socket()
        if not isinstance(sock, BufferedSocket):
            return rc
        buffered: BufferedSocket = sock
        budget = PACKETS_PER_READ
        while rc == paho.MQTT_ERR_SUCCESS and budget and buffered.pending():
            if self.socket() is not buffered:  # reconnected meanwhile
                break
            rc = super().loop_read(max_packets)
            budget -= 1
        return rc
