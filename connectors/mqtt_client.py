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

:meth:`Client.flush` is a barrier before a clean disconnect: it sends a PINGREQ and waits for
its PINGRESP. A broker handles one connection's packets in order, so once it answers, it has
handled every acknowledgement written before; without it, acks queued just before closing could
be lost with the connection and the broker would redeliver messages that are already stored.

The protocol handling stays paho's. The subclass relies on private hooks of paho 2.x:
``_create_socket``, ``_send_pingreq`` and ``_handle_pingresp`` (the pin is
``paho-mqtt>=2.1,<3``; tests/integration/connectors/test_mqtt_client.py checks that they are
still called).
"""

from __future__ import annotations

import socket
import ssl
import threading
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
    """``paho.Client`` with :class:`BufferedSocket` reads (TCP and TLS; websockets as paho),
    and :meth:`flush`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # PINGREQs sent and PINGRESPs received on the current connection (keep-alive included);
        # answers come in order, so answered >= n means the n-th ping was answered
        self._pings = threading.Condition()
        self._pings_sent = 0
        self._pings_answered = 0

    def flush(self, timeout_s: float) -> bool:
        """Wait until the broker has handled every packet written so far (a PINGREQ round
        trip); False when not connected or no answer came within ``timeout_s``."""
        if not self.is_connected() or self._send_pingreq() != paho.MQTT_ERR_SUCCESS:
            return False
        with self._pings:
            wanted = self._pings_sent
            return self._pings.wait_for(lambda: self._pings_answered >= wanted, timeout_s)

    def reconnect(self) -> MQTTErrorCode:
        with self._pings:  # pings unanswered on the old connection never will be
            self._pings_sent = self._pings_answered = 0
        return super().reconnect()

    def _send_pingreq(self) -> MQTTErrorCode:
        with self._pings:
            self._pings_sent += 1  # before sending: the answer may come before we return
        rc = super()._send_pingreq()
        if rc != paho.MQTT_ERR_SUCCESS:
            with self._pings:
                self._pings_sent -= 1
        return rc

    def _handle_pingresp(self) -> MQTTErrorCode:
        rc = super()._handle_pingresp()
        if rc == paho.MQTT_ERR_SUCCESS:
            with self._pings:
                self._pings_answered += 1
                self._pings.notify_all()
        return rc

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
