"""A flapping TCP proxy: forwards 127.0.0.1:listen → upstream, and drops connections at random.

Runs its own asyncio loop in a thread so blocking test code (subprocesses, sleeps) can drive it.
Every ``flap_s`` (± jitter) it either cuts every open connection mid-stream, or goes down for a
short window during which new connections are accepted and closed at once (a dead route).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass


@dataclass
class ProxyStats:
    connections: int = 0
    cut: int = 0
    refused: int = 0


class FlappingProxy:
    def __init__(
        self,
        listen_port: int,
        upstream_port: int,
        *,
        flap_s: float = 1.5,
        down_s: float = 1.0,
        seed: int = 1,
    ) -> None:
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.flap_s = flap_s
        self.down_s = down_s
        self.stats = ProxyStats()
        self.flapping = True
        self._rng = random.Random(seed)
        self._down = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    def __enter__(self) -> FlappingProxy:
        self._thread = threading.Thread(target=self._run, name="flapping-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", self.listen_port)
        chaos = asyncio.create_task(self._chaos())
        self._ready.set()
        async with server:
            await self._stop.wait()
            chaos.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos
            self._cut_all()
        await asyncio.sleep(0.05)

    async def _chaos(self) -> None:
        while True:
            await asyncio.sleep(self.flap_s * self._rng.uniform(0.5, 1.5))
            if not self.flapping:
                continue
            if self._rng.random() < 0.5:
                self._cut_all()
            else:
                self._down = True
                self._cut_all()
                await asyncio.sleep(self.down_s * self._rng.uniform(0.5, 1.5))
                self._down = False

    def _cut_all(self) -> None:
        for writer in list(self._writers):
            self.stats.cut += 1
            writer.transport.abort()  # RST, as a broken route or a NAT timeout would
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.stats.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self.stats.connections += 1
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
