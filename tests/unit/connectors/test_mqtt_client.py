"""BufferedSocket: paho's small reads served from one large read, with pending() telling paho
that bytes are waiting without a system call."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator

import pytest

from connectors.mqtt_client import CHUNK, BufferedSocket


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    try:
        yield BufferedSocket(ours), theirs
    finally:
        ours.close()
        theirs.close()


def test_small_reads_come_from_one_buffer(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    peer.sendall(b"\x30\x05hello\x30\x03abc")
    assert sock.pending() == 0  # nothing read yet: paho must select() on the socket
    assert sock.recv(1) == b"\x30"
    assert sock.pending() == 11  # the rest was read with the first byte
    assert sock.recv(1) == b"\x05"
    assert sock.recv(5) == b"hello"
    assert sock.recv(1) == b"\x30"
    assert sock.recv(10) == b"\x03abc"  # fewer than asked: what is there, as recv() does
    assert sock.pending() == 0
    with pytest.raises(BlockingIOError):  # empty buffer and socket: paho's "try again"
        sock.recv(1)


def test_a_read_larger_than_the_buffer_is_passed_through(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, peer = pair
    body = bytes(range(256)) * (CHUNK // 128)  # 2 chunks: more than a socket buffer holds
    sender = threading.Thread(target=peer.sendall, args=(body,))
    sender.start()
    got = b""
    while len(got) < len(body):
        select.select([sock], [], [], 5)
        with contextlib.suppress(BlockingIOError):
            got += sock.recv(len(body) - len(got))
    sender.join(5)
    assert got == body
    assert sock.pending() == 0


def test_end_of_stream_reads_empty(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    peer.sendall(b"ab")
    peer.close()
    assert sock.recv(1) == b"a"
    assert sock.recv(1) == b"b"
    assert sock.recv(1) == b""  # paho reads this as a lost connection


def test_everything_else_is_the_socket(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    assert sock.send(b"ping") == 4
    assert peer.recv(4) == b"ping"
    assert sock.fileno() == sock._sock.fileno()
    sock.close()
    assert sock._sock.fileno() == -1
