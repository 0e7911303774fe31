"""Test helpers for the connector integration tests: a sample collector and bare servers.

The bare servers (asyncua ``Server``, pymodbus ``ModbusTcpServer``, a private ``mosquitto``)
give the tests full control over values and faults; the contract suite runs against the
bundled simulators instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from asyncua import Server, ua
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from connectors.base import Batch, Connector, Sample
from tests.support.services import port_open


class Collector:
    """Consumes a connector's batches in the background; ``ack`` decides if batches are acked."""

    def __init__(self, connector: Connector, *, ack: bool = True) -> None:
        self.connector = connector
        self.ack = ack
        self.samples: list[Sample] = []
        self.unacked: list[Batch] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async for batch in self.connector.batches():
            self.samples.extend(batch.samples)
            if self.ack:
                batch.ack()
            else:
                self.unacked.append(batch)
            self._changed.set()

    def of(self, signal: str, machine: str | None = None) -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.signal == signal and (machine is None or s.machine == machine)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> float:
        """Wait until ``predicate()``; returns the seconds it took (fails the test on timeout)."""
        start = time.monotonic()
        deadline = start + timeout_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"condition not met within {timeout_s} s; {len(self.samples)} samples, "
                    f"status {self.connector.status}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
        return time.monotonic() - start


class BareOpcUa:
    """asyncua server with ``Line.Count`` (UInt32), ``Line.State`` (UInt16), ``Line.Order``
    (String, writable), ``Line.Target`` (UInt32, writable), ``Line.Temp`` (Double), ns=2."""

    def __init__(self, port: int, **security: Any) -> None:
        self.port = port
        self.security = security
        self.server: Server | None = None
        self.nodes: dict[str, Any] = {}

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"

    async def __aenter__(self) -> BareOpcUa:
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        if self.security.get("policies"):
            server.set_security_policy(self.security["policies"])
            await server.load_certificate(self.security["certificate"])
            await server.load_private_key(self.security["private_key"])
        if self.security.get("user_manager"):
            server.iserver.set_user_manager(self.security["user_manager"])
        idx = await server.register_namespace("urn:atelier:test")
        assert idx == 2
        folder = await server.nodes.objects.add_folder(ua.NodeId("Line", 2), "Line")
        for name, value, vtype, writable in (
            ("Count", 0, ua.VariantType.UInt32, False),
            ("State", 1, ua.VariantType.UInt16, False),
            ("Order", "", ua.VariantType.String, True),
            ("Target", 0, ua.VariantType.UInt32, True),
            ("Temp", 20.0, ua.VariantType.Double, False),
        ):
            node = await folder.add_variable(
                ua.NodeId(f"Line.{name}", 2), name, ua.Variant(value, vtype)
            )
            if writable:
                await node.set_writable()
            self.nodes[name] = node
        await server.start()
        self.server = server
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def set(self, name: str, value: Any, vtype: ua.VariantType) -> None:
        await self.nodes[name].write_value(ua.Variant(value, vtype))

    async def get(self, name: str) -> Any:
        return await self.nodes[name].read_value()


class BareModbus:
    """pymodbus server, unit 1: 64 holding + 64 input registers, 32 coils and discrete inputs.
    ``busy`` answers that many requests with exception 06 first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.holding = [0] * 64
        self.busy = 0
        self.requests = 0
        self.server: ModbusTcpServer | None = None

    async def __aenter__(self) -> BareModbus:
        device = SimDevice(
            id=1,
            simdata=(
                [SimData(0, count=32, values=False, datatype=DataType.BITS)],
                [SimData(0, count=32, values=True, datatype=DataType.BITS)],
                [SimData(0, count=64, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=64, values=7, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )
        server = ModbusTcpServer([device], address=("127.0.0.1", self.port))
        await server.serve_forever(background=True)
        self.server = server
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if self.busy > 0:
            self.busy -= 1
            return ExcCodes.DEVICE_BUSY
        if function_code == 3:
            registers[:] = self.holding[start_address : start_address + len(registers)]
        elif function_code in (6, 16) and set_values is not None:
            offset = address
            self.holding[offset : offset + len(set_values)] = [int(v) for v in set_values]
        return None


class Mosquitto:
    """A private mosquitto on ``port`` that a test may kill and restart."""

    def __init__(
        self, port: int, workdir: Path, *, extra: str = "", anonymous: bool = True
    ) -> None:
        self.port = port
        self.config = workdir / f"mosquitto-{port}.conf"
        self.log = workdir / f"mosquitto-{port}.log"
        self.config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous {str(anonymous).lower()}\n"
            f"persistence false\nmax_queued_messages 100000\nset_tcp_nodelay true\n"
            # as root, mosquitto would switch to its own user, who cannot read pytest's tmp dirs
            f"log_dest file {self.log}\nuser root\n{extra}"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not port_open("127.0.0.1", self.port, 0.2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                log = self.log.read_text() if self.log.exists() else ""
                raise RuntimeError(f"mosquitto did not start on port {self.port}: {log[-500:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Amqtt:
    """The demo's embedded amqtt broker (MQTT 3.1.1 only) on ``port``, in a child process: its
    own warnings and threads stay out of the test process (``filterwarnings = error``)."""

    SCRIPT = (
        "import sys\n"
        "from simulators.demo import EmbeddedBroker\n"
        "with EmbeddedBroker(int(sys.argv[1])):\n"
        "    sys.stdin.read()  # until the test closes our stdin\n"
    )

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Amqtt:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", self.SCRIPT, str(self.port)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", self.port, 0.2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"amqtt did not start: {self.log.read_text()[-500:]}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Publisher:
    """A plain paho client for tests: ``publish`` waits until the broker has the message."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self.host, self.port = host, port
        self.received: list[tuple[str, bytes]] = []
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))

    def __enter__(self) -> Publisher:
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def subscribe(self, topic: str) -> None:
        result, _mid = self.client.subscribe(topic, qos=1)
        assert result == 0
        time.sleep(0.2)  # SUBACK; tests only need it before the next publish
