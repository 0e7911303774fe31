"""In-memory connector: the test double of every protocol connector.

Samples are pushed by the test (``push``) and flow through the same bounded queue, status and
reconnect machinery as the real connectors; acknowledgements are counted (``acked``) and
downlink writes recorded (``written``), so the contract suite runs against it unchanged.
"""

from __future__ import annotations

import asyncio

from connectors.backoff import Backoff
from connectors.base import ConnectError, Sample
from connectors.runtime import SupervisedConnector
from connectors.specs import MemorySourceSpec


class MemoryConnector(SupervisedConnector):
    def __init__(
        self, spec: MemorySourceSpec, *, queue_batches: int = 1024, backoff: Backoff | None = None
    ) -> None:
        super().__init__(spec.machine, queue_batches=queue_batches, backoff=backoff)
        self.spec = spec
        self.acked = 0
        self.written: list[tuple[str, float | str]] = []
        self._lost: asyncio.Event | None = None

    async def _session(self) -> None:
        self._lost = asyncio.Event()
        self._connected()
        await self._lost.wait()
        raise ConnectError("disconnected by the test")

    def disconnect(self) -> None:
        """Simulate a lost connection: the supervisor reconnects after a backoff."""
        if self._lost is not None:
            self._lost.set()

    async def push(self, samples: list[Sample]) -> None:
        """Emit one batch (waits while the queue is full, like every connector)."""
        await self._emit(list(samples), self._ack_one)

    def _ack_one(self) -> None:
        self.acked += 1

    async def write(self, signal: str, value: float | str) -> None:
        self.written.append((signal, value))
