"""The workers' listening sockets (central.serve): a connection a worker accepts has Nagle's
algorithm off, as on uvicorn's own sockets; with it on, every response waited for the
client's delayed ACK (~50 ms a request)."""

from __future__ import annotations

import asyncio
import pickle
import socket

import pytest

from central.serve import ReusePortSocket, reuseport_balances

pytestmark = pytest.mark.skipif(not reuseport_balances(), reason="SO_REUSEPORT is Linux's here")


async def test_a_worker_socket_accepts_connections_with_tcp_nodelay() -> None:
    with ReusePortSocket.bound_to("127.0.0.1", 0) as reserved:
        # what a worker process gets: the supervisor's socket pickled, re-made on its address
        listener = pickle.loads(pickle.dumps(reserved))
        assert listener.getsockname() == reserved.getsockname()
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=listener)
        async with server:
            _r, writer = await asyncio.open_connection(*reserved.getsockname()[:2])
            assert await asyncio.wait_for(accepted, 5) != 0
            writer.close()
