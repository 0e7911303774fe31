"""Runs every protocol server of a scenario and streams the ground truth to a JSONL file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType

from simulators.layout import ModbusLayout, MqttLayout, OpcUaLayout
from simulators.machine import MachineModel
from simulators.modbus_plc import ModbusPlc
from simulators.mqtt_machine import MqttMachine
from simulators.opcua_plc import OpcUaPlc
from simulators.scenario import Scenario
from simulators.telemetry import MqttFaults
from simulators.truth import GroundTruth, TruthWriter

log = logging.getLogger(__name__)


class _StartLatch:
    """A clock that stands still from its first reading until ``release()``.

    The servers advance their models while they start (to expose initial values), and the
    OPC UA server takes seconds to build its address space. Without the latch every model
    would start when the runner is entered, so parts made before a server listens could never
    be seen by a client. Latched, every model starts at one common instant just before the
    first server listens, and the world moves on in real time only once all of them listen.
    """

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._held: int | None = None
        self._released = False

    def __call__(self) -> int:
        if self._released:
            return self._clock()
        if self._held is None:
            self._held = self._clock()
        return self._held

    def release(self) -> None:
        self._released = True


class SimulationRunner:
    """``async with SimulationRunner(scenario, opcua_port=p) as run: run.truth("press-01")``.

    Port/URL overrides win over the scenario's ``servers`` section (tests pass free ports).
    Every model starts when the servers are about to listen, not when the runner is entered
    (see :class:`_StartLatch`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        opcua_port: int | None = None,
        modbus_port: int | None = None,
        mqtt_url: str | None = None,
        cert_dir: str | Path | None = None,
        truth_path: str | Path | None = None,
        flush_s: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.scenario = scenario
        self.models: dict[str, MachineModel] = {m.id: m for m in scenario.models()}
        servers = scenario.servers
        self.opcua_port = servers.opcua.port if opcua_port is None else opcua_port
        self.modbus_port = servers.modbus.port if modbus_port is None else modbus_port
        self.mqtt_url = servers.mqtt.url if mqtt_url is None else mqtt_url
        self.cert_dir = Path(cert_dir) if cert_dir is not None else servers.opcua.cert_dir
        self.truth_path = Path(truth_path) if truth_path is not None else None
        self.flush_s = flush_s
        self._clock = _StartLatch(clock)
        self._stack: AsyncExitStack | None = None
        self._writer: TruthWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.opcua: OpcUaPlc | None = None
        self.modbus: ModbusPlc | None = None
        self.mqtt: MqttMachine | None = None

    def truth(self, machine_id: str) -> GroundTruth:
        return self.models[machine_id].truth

    def _of(self, kind: type) -> list[MachineModel]:
        return [m for m in self.models.values() if isinstance(m.spec.source, kind)]

    def _build(self) -> None:
        s = self.scenario.servers
        if machines := self._of(OpcUaLayout):
            password = os.environ.get(s.opcua.password_env) if s.opcua.password_env else None
            self.opcua = OpcUaPlc(
                machines,
                s.opcua.host,
                self.opcua_port,
                security=s.opcua.security,
                cert_dir=self.cert_dir,
                user=s.opcua.user if password is not None else None,
                password=password,
                namespace=s.opcua.namespace,
                tick_s=s.opcua.tick_s,
                clock=self._clock,
            )
        if machines := self._of(ModbusLayout):
            f = s.modbus.faults
            self.modbus = ModbusPlc(
                machines,
                s.modbus.host,
                self.modbus_port,
                busy_share=f.busy_share,
                drop_share=f.drop_share,
                fault_seed=self.scenario.seed,
                clock=self._clock,
            )
        if machines := self._of(MqttLayout):
            m = s.mqtt
            password = os.environ.get(m.password_env) if m.password_env else None
            self.mqtt = MqttMachine(
                machines,
                self.mqtt_url,
                qos=m.qos,
                client_id=m.client_id,
                username=m.username,
                password=password,
                tls=m.tls,
                faults=MqttFaults(**m.faults.model_dump()),
                fault_seed=self.scenario.seed,
                group=m.group,
                node=m.node,
                tick_s=m.tick_s,
                clock=self._clock,
            )

    async def __aenter__(self) -> SimulationRunner:
        self._build()
        if self.truth_path is not None:
            self._writer = TruthWriter(self.truth_path, [m.truth for m in self.models.values()])
            self._writer.start()
        async with AsyncExitStack() as stack:
            for server in (self.opcua, self.modbus, self.mqtt):
                if server is not None:
                    await stack.enter_async_context(server)
            self.advance()  # models without a server start at the latched instant too
            self._clock.release()
            self._stack = stack.pop_all()
        self._task = asyncio.create_task(self._run(), name="simulation-truth")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        self.advance()
        if self._writer is not None:
            self._writer.finish()
            self._writer = None

    def advance(self) -> None:
        """Bring every model to now (Modbus machines only move when read otherwise)."""
        now = self._clock()
        for model in self.models.values():
            model.advance(now)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            self.advance()
            if self._writer is not None:
                self._writer.flush()
