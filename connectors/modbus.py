"""Modbus TCP connector (pymodbus ``AsyncModbusTcpClient``): drift-free polling, downlink writes.

One poll reads every planned request (see :mod:`connectors.modbus_plan`) and emits one batch,
timestamped at receive time. An exception response is bad input for that request only (06,
device busy, is retried after a short pause first); a timeout or a dropped connection ends the
session and the supervisor reconnects with backoff. pymodbus' own reconnect is switched off
(``reconnect_delay=0``) so there is exactly one reconnect loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from connectors.backoff import Backoff
from connectors.base import (
    ConfigurationError,
    ConnectError,
    Sample,
    WriteError,
    WriteNotSupported,
)
from connectors.modbus_codec import encode
from connectors.modbus_plan import (
    BIT_TABLES,
    ReadRequest,
    decode_bits,
    decode_registers,
    plan_reads,
)
from connectors.runtime import SupervisedConnector
from connectors.specs import ModbusSignalSpec, ModbusSourceSpec

BUSY = 0x06


class ModbusConnector(SupervisedConnector):
    """Polls one Modbus TCP device (``spec.unit``) every ``spec.poll_ms``."""

    def __init__(self, spec: ModbusSourceSpec) -> None:
        super().__init__(spec.machine, backoff=Backoff(spec.reconnect.min_s, spec.reconnect.max_s))
        self.spec = spec
        self._plan = plan_reads(spec.signals, spec.max_gap)  # write_signals are never read
        self._by_name: dict[str, ModbusSignalSpec] = {
            s.name: s for s in (*spec.signals, *spec.write_signals)
        }
        if len(self._by_name) < len(spec.signals) + len(spec.write_signals):
            raise ConfigurationError(f"source {spec.machine}: a signal name is used twice")
        self._client: AsyncModbusTcpClient | None = None

    async def _session(self) -> None:
        spec = self.spec
        client = AsyncModbusTcpClient(
            spec.host,
            port=spec.port,
            timeout=spec.timeout_ms / 1000,
            retries=0,
            reconnect_delay=0,
        )
        try:
            if not await client.connect():
                raise ConnectError(f"cannot connect to {spec.host}:{spec.port}")
            self._client = client
            self._connected()
            await self._poll_forever(client)
        except ModbusException as exc:
            raise ConnectError(f"{spec.host}:{spec.port}: {exc}") from exc
        finally:
            self._client = None
            client.close()

    async def _poll_forever(self, client: AsyncModbusTcpClient) -> None:
        loop = asyncio.get_running_loop()
        period = self.spec.poll_ms / 1000
        due = loop.time()
        while not self._closing:
            await self.poll_once(client)
            if period <= 0:  # poll_ms 0: as fast as the device answers (the reads yield)
                continue
            # Drift-free: stay on the grid start + k*period; if a poll overran, skip the missed
            # ticks rather than firing them back to back.
            due += period
            now = loop.time()
            if due < now:
                due += math.ceil((now - due) / period) * period
            await asyncio.sleep(due - now)

    async def poll_once(self, client: AsyncModbusTcpClient) -> None:
        samples: list[Sample] = []
        for request in self._plan:
            response = await self._read(client, request)
            if response is None:
                continue
            ts_ns = time.time_ns()
            if request.table in BIT_TABLES:
                bad = decode_bits(request, response.bits, ts_ns, self.name, samples)
            else:
                bad = decode_registers(request, response.registers, ts_ns, self.name, samples)
            for exc in bad:
                self._bad(exc.reason, exc.detail)
        await self._emit(samples)

    async def _read(self, client: AsyncModbusTcpClient, request: ReadRequest) -> Any:
        read = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }[request.table]
        for attempt in range(self.spec.busy_retries + 1):
            response = await read(request.address, count=request.count, device_id=self.spec.unit)
            if not response.isError():
                return response
            code = int(getattr(response, "exception_code", 0))
            if code == BUSY and attempt < self.spec.busy_retries:
                await asyncio.sleep(self.spec.busy_retry_ms / 1000 * (attempt + 1))
                continue
            self._bad(
                f"modbus_exception_{code:02x}",
                f"{request.table} {request.address}+{request.count} unit {self.spec.unit}",
            )
            return None
        return None

    async def write(self, signal: str, value: float | str) -> None:
        """Downlink (a sampled signal or one of ``write_signals``): holding registers, encoded
        with the signal's type and order, or a coil."""
        spec = self._by_name.get(signal)
        if spec is None or spec.table in ("input", "discrete") or spec.states is not None:
            raise WriteNotSupported(f"source {self.name}: signal {signal!r} is not writable")
        client = self._client
        if client is None:
            raise WriteError(f"source {self.name}: not connected")
        try:
            number = (float(value) - spec.offset) / spec.scale
            if spec.table == "coil":
                response = await client.write_coil(
                    spec.address, bool(number), device_id=self.spec.unit
                )
            else:
                registers = (
                    [int(number != 0)]
                    if spec.type == "bool"
                    else encode(number, spec.type, spec.word_order, spec.byte_swap)
                )
                response = await client.write_registers(
                    spec.address, registers, device_id=self.spec.unit
                )
        except (ValueError, ModbusException) as exc:
            raise WriteError(f"source {self.name}: write {signal}={value!r} failed: {exc}") from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            raise WriteError(f"source {self.name}: write {signal} refused, exception {code:02x}")
