"""Simulated Modbus TCP PLC (pymodbus server), one unit id per machine.

Registers are refreshed from the model at every request (through pymodbus' SimDevice ``action``
hook), so a read returns the counters as of that instant: ``truth.count_at(t)``. A write to the
``order``/``target`` registers reaches the model (downlink: a new order starts a setup); a write
touching any other mapped register is refused with exception 02 (illegal data address).

Fault injection, drawn from a seeded generator: ``busy_share`` of the requests get exception 06
(device busy); ``drop_share`` of them get their TCP connection closed instead of a reply. Each
injected fault is recorded in the addressed machine's truth (kind ``injected``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from simulators.errors import PortInUseError
from simulators.layout import ModbusLayout, Register, order_number
from simulators.machine import MachineModel
from simulators.registers import decode_register, encode_register

log = logging.getLogger(__name__)

_TABLE_OF_FUNCTION = {3: "holding", 6: "holding", 16: "holding", 22: "holding", 23: "holding"}
_TABLE_OF_FUNCTION[4] = "input"
WRITABLE = frozenset({"order", "target"})


@dataclass
class _Unit:
    model: MachineModel
    layout: ModbusLayout

    def values(self) -> dict[str, float]:
        m, t = self.model, self.model.truth
        return {
            "count": m.wire_count,
            "reject": t.reject,
            "good": t.good,
            "state": self.layout.state_codes.get(m.state, 0),
            "order": order_number(m.order),
            "target": m.target,
            "cycle_s": m.last_cycle_s,
        }


class _FaultyHandler(ServerRequestHandler):  # type: ignore[misc]
    """Closes the connection instead of answering when the PLC decides so."""

    async def handle_request(self) -> None:
        pdu = self.last_pdu
        if pdu is not None and self.server.should_drop(int(pdu.dev_id)):
            self.close()
            return
        await super().handle_request()  # type: ignore[no-untyped-call]


class _FaultyTcpServer(ModbusTcpServer):  # type: ignore[misc]
    def __init__(self, devices: list[SimDevice], address: tuple[str, int], drop: Any) -> None:
        super().__init__(devices, address=address)
        self.should_drop: Callable[[int], bool] = drop

    def callback_new_connection(self) -> ServerRequestHandler:
        return _FaultyHandler(  # type: ignore[no-untyped-call]
            self, self.trace_packet, self.trace_pdu, self.trace_connect
        )


class ModbusPlc:
    """Async context manager serving every machine of ``machines`` on one TCP port."""

    def __init__(
        self,
        machines: Sequence[MachineModel],
        host: str = "127.0.0.1",
        port: int = 5020,
        *,
        busy_share: float = 0.0,
        drop_share: float = 0.0,
        fault_seed: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.machines = list(machines)
        self.host, self.port = host, port
        self.busy_share, self.drop_share = busy_share, drop_share
        self._rng = random.Random(f"modbus-faults/{fault_seed}")
        self._clock = clock
        self._units: dict[int, _Unit] = {}
        for model in self.machines:
            layout = model.spec.source
            if not isinstance(layout, ModbusLayout):
                layout = ModbusLayout(unit=len(self._units) + 1)
            if layout.unit in self._units:
                raise ValueError(f"unit {layout.unit} used by two machines")
            self._units[layout.unit] = _Unit(model, layout)
        self._server: _FaultyTcpServer | None = None

    @property
    def url(self) -> str:
        return f"modbus://{self.host}:{self.port}"

    def unit_of(self, machine_id: str) -> int:
        for unit_id, unit in self._units.items():
            if unit.model.id == machine_id:
                return unit_id
        raise KeyError(machine_id)

    async def __aenter__(self) -> ModbusPlc:
        now = self._clock()
        devices = []
        for unit_id, unit in self._units.items():
            unit.model.advance(now)
            devices.append(self._device(unit_id, unit))
        server = _FaultyTcpServer(devices, (self.host, self.port), self._should_drop)
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise PortInUseError("modbus", self.host, self.port) from exc
        self._server = server
        log.info("Modbus PLC listening on %s:%d units %s", self.host, self.port, list(self._units))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def _device(self, unit_id: int, unit: _Unit) -> SimDevice:
        sizes = {"holding": 1, "input": 1}
        for reg in unit.layout.registers.values():
            sizes[reg.table] = max(sizes[reg.table], reg.address + reg.words)
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        holding = [SimData(0, count=sizes["holding"], values=0, datatype=DataType.REGISTERS)]
        inputs = [SimData(0, count=sizes["input"], values=0, datatype=DataType.REGISTERS)]
        return SimDevice(
            id=unit_id,
            simdata=(bits, list(bits), holding, inputs),
            action=partial(self._action, unit),
        )

    def _should_drop(self, unit_id: int) -> bool:
        if self.drop_share <= 0 or self._rng.random() >= self.drop_share:
            return False
        unit = self._units.get(unit_id)
        if unit is not None:
            unit.model.truth.record_injected(self._clock(), "modbus_drop")
        return True

    async def _action(
        self,
        unit: _Unit,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        now = self._clock()
        if self.busy_share > 0 and self._rng.random() < self.busy_share:
            unit.model.truth.record_injected(now, "modbus_busy")
            return ExcCodes.DEVICE_BUSY
        table = _TABLE_OF_FUNCTION.get(function_code)
        if table is None:
            return None
        if set_values and self._read_only(unit, address, len(set_values)):
            return ExcCodes.ILLEGAL_ADDRESS  # as a PLC answers a write to its counters
        unit.model.advance(now)
        self._fill(unit, table, start_address, registers)
        if set_values and table == "holding":
            image = list(registers)
            offset = address - start_address
            image[offset : offset + len(set_values)] = [int(v) for v in set_values]
            self._take_downlink(unit, start_address, image, now)
        return None

    @staticmethod
    def _read_only(unit: _Unit, address: int, count: int) -> bool:
        """Does a holding-register write touch a mapped value other than order/target?"""
        for name, reg in unit.layout.registers.items():
            overlaps = reg.address < address + count and address < reg.address + reg.words
            if overlaps and reg.table == "holding" and name not in WRITABLE:
                return True
        return False

    @staticmethod
    def _fill(unit: _Unit, table: str, start: int, registers: list[int]) -> None:
        values = unit.values()
        for name, reg in unit.layout.registers.items():
            if reg.table == table and name in values:
                words = encode_register(values[name], reg)
                registers[reg.address - start : reg.address - start + reg.words] = words

    @staticmethod
    def _read(image: list[int], start: int, reg: Register) -> int:
        return int(
            decode_register(image[reg.address - start : reg.address - start + reg.words], reg)
        )

    def _take_downlink(self, unit: _Unit, start: int, image: list[int], now: int) -> None:
        regs = unit.layout.registers
        model = unit.model
        order, target = model.order, model.target
        if "order" in regs and regs["order"].table == "holding":
            number = self._read(image, start, regs["order"])
            if number != order_number(model.order):
                order = unit.layout.order_format.format(number) if number else None
        if "target" in regs and regs["target"].table == "holding":
            target = self._read(image, start, regs["target"])
        if order != model.order or target != model.target:
            log.info("downlink %s: order=%r target=%d", model.id, order, target)
            model.set_order(order, target, now)
