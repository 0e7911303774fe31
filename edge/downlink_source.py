"""A source whose downlink-only signals (``order``, ``target``) are written, never sampled.

A connector samples every signal of its spec, and writes only to signals of that spec. The
active order of a PLC is a String on OPC UA: sampled, it is bad input (``wrong_type``) on every
change, and on Modbus it is telemetry nobody reads. So the edge builds the sampling connector
without those signals, and writes through a second connector of the same source whose spec
holds only them, polled once an hour (it exists to write; its rare reads are never consumed).

The write connection is opened at the first write and kept for the next ones (the order and
the target of one order start, the next order); a failed write closes it, so the retry starts
on a fresh session. Both connectors close with this one.

This is the edge-side stand-in for write-only signals in the connector specs
(``write_signals``), which the connectors do not have yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Self

from connectors.base import Batch, ConnectionState, Connector, SourceStatus, WriteError

CONNECT_POLL_S = 0.05


class DownlinkSource:
    """Samples through ``sampled``; writes ``write_signals`` through ``build_writer()``."""

    def __init__(
        self,
        sampled: Connector,
        build_writer: Callable[[], Connector],
        write_signals: frozenset[str],
        *,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.name = sampled.name
        self._sampled = sampled
        self._build_writer = build_writer
        self._write_signals = write_signals
        self._timeout_s = connect_timeout_s
        self._writer: Connector | None = None
        self._lock = asyncio.Lock()

    @property
    def state(self) -> ConnectionState:
        return self._sampled.state

    @property
    def status(self) -> SourceStatus:
        return self._sampled.status

    async def __aenter__(self) -> Self:
        await self._sampled.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        async with self._lock:
            await self._close_writer()
        await self._sampled.__aexit__(*exc_info)

    def batches(self) -> AsyncIterator[Batch]:
        return self._sampled.batches()

    async def write(self, signal: str, value: float | str) -> None:
        if signal not in self._write_signals:
            await self._sampled.write(signal, value)
            return
        async with self._lock:
            writer = await self._connected_writer()
            try:
                await writer.write(signal, value)
            except WriteError:
                await self._close_writer()
                raise

    async def _connected_writer(self) -> Connector:
        if self._writer is None:
            self._writer = self._build_writer()
            await self._writer.__aenter__()
        writer = self._writer
        try:
            async with asyncio.timeout(self._timeout_s):
                while writer.state is not ConnectionState.connected:
                    if writer.state is ConnectionState.failed:
                        break
                    await asyncio.sleep(CONNECT_POLL_S)
        except TimeoutError:
            pass
        if writer.state is not ConnectionState.connected:
            error = writer.status.last_error or writer.state.value
            await self._close_writer()
            raise WriteError(f"source {self.name}: downlink connection: {error}")
        return writer

    async def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.__aexit__(None, None, None)
