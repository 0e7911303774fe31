"""Simulated OPC UA PLC (asyncua server) exposing one folder per machine.

Nodes (string ids in the simulator namespace, index 2 on a fresh server):
``<prefix>.Count`` UInt32, ``.Reject`` UInt32, ``.Good`` UInt32, ``.State`` UInt16 (layout state
codes), ``.MachineryItemState`` Int32 (OPC 40001-1), ``.MachineryOperationMode`` Int32,
``.ActiveOrder`` String (writable), ``.TargetQty`` UInt32 (writable), ``.IdealCycle`` Double
(seconds), ``.LastCycleTime`` Double (seconds). Every value carries the model's event time as
its SourceTimestamp. A client write to ActiveOrder/TargetQty reaches the model (downlink).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import Any

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server

from simulators.errors import PortInUseError
from simulators.layout import (
    MACHINERY_ITEM_STATE,
    MACHINERY_OPERATION_MODE,
    OpcUaLayout,
    default_prefix,
)
from simulators.machine import MachineModel
from simulators.opcua_security import (
    PasswordUserManager,
    SecurityMode,
    ensure_certificate,
    policies,
)
from simulators.ports import ensure_port_free

log = logging.getLogger(__name__)

U32 = ua.VariantType.UInt32
_VARIABLES: tuple[tuple[str, Any, ua.VariantType, bool], ...] = (
    ("Count", 0, U32, False),
    ("Reject", 0, U32, False),
    ("Good", 0, U32, False),
    ("State", 0, ua.VariantType.UInt16, False),
    ("MachineryItemState", 0, ua.VariantType.Int32, False),
    ("MachineryOperationMode", 0, ua.VariantType.Int32, False),
    ("ActiveOrder", "", ua.VariantType.String, True),
    ("TargetQty", 0, U32, True),
    ("IdealCycle", 0.0, ua.VariantType.Double, False),
    ("LastCycleTime", 0.0, ua.VariantType.Double, False),
)


def _dt(ts_ns: int) -> ua.DateTime:
    # Exact to the microsecond (a float division would round the last digit either way).
    whole = ua.DateTime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    return whole.replace(microsecond=(ts_ns % 1_000_000_000) // 1000)


@dataclass
class _Exposed:
    model: MachineModel
    layout: OpcUaLayout
    nodes: dict[str, Node]
    sent_events: int = 0
    wire_order: str = ""
    wire_target: int = 0


class OpcUaPlc:
    """Async context manager: ``async with OpcUaPlc([model], port=p) as plc: plc.endpoint``."""

    def __init__(
        self,
        machines: Sequence[MachineModel],
        host: str = "127.0.0.1",
        port: int = 4840,
        *,
        security: SecurityMode = "None",
        cert_dir: str | Path | None = None,
        user: str | None = None,
        password: str | None = None,
        namespace: str = "urn:atelier:simulators",
        tick_s: float = 0.1,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if security != "None" and cert_dir is None:
            raise ValueError("cert_dir is required with a secure policy")
        if (user is None) != (password is None):
            raise ValueError("user and password go together")
        self.machines = list(machines)
        self.host, self.port = host, port
        self.security = security
        self.cert_dir = Path(cert_dir) if cert_dir is not None else None
        self.namespace = namespace
        self.tick_s = tick_s
        self._user, self._password = user, password
        self._clock = clock
        self._server: Server | None = None
        self._exposed: list[_Exposed] = []
        self._task: asyncio.Task[None] | None = None
        self.namespace_index = 2
        self.certificate: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}"

    def node_id(self, machine_id: str, name: str) -> str:
        """``ns=2;s=Press01.Count`` for ``("press-01", "Count")``."""
        return f"ns={self.namespace_index};s={self._prefix(machine_id)}.{name}"

    def _prefix(self, machine_id: str) -> str:
        for m in self.machines:
            if m.id == machine_id and isinstance(m.spec.source, OpcUaLayout):
                return m.spec.source.prefix
        return default_prefix(machine_id)

    async def __aenter__(self) -> OpcUaPlc:
        ensure_port_free("opcua", self.host, self.port)
        server = Server(user_manager=self._user_manager())
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("Atelier simulated PLC")
        await server.set_application_uri("urn:atelier:simulators:plc")
        server.set_security_policy(policies(self.security))
        if self._user is not None:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        if self.security != "None":
            assert self.cert_dir is not None
            files = await ensure_certificate(self.cert_dir, "urn:atelier:simulators:plc")
            await server.load_certificate(files.certificate)
            await server.load_private_key(files.private_key)
            self.certificate = files.certificate
        self.namespace_index = await server.register_namespace(self.namespace)
        now = self._clock()
        for model in self.machines:
            model.advance(now)
            self._exposed.append(await self._add_machine(server, model))
        try:
            await server.start()
        except OSError as exc:
            raise PortInUseError("opcua", self.host, self.port) from exc
        self._server = server
        await self._publish()
        self._task = asyncio.create_task(self._run(), name="opcua-plc-tick")
        log.info("OPC UA PLC listening on %s (%s)", self.endpoint, self.security)
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
            self._task = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        self._exposed = []

    def _user_manager(self) -> PasswordUserManager | None:
        if self._user is None or self._password is None:
            return None
        return PasswordUserManager(self._user, self._password)

    async def _add_machine(self, server: Server, model: MachineModel) -> _Exposed:
        layout = model.spec.source
        if not isinstance(layout, OpcUaLayout):
            layout = OpcUaLayout(default_prefix(model.id))
        idx = self.namespace_index
        folder = await server.nodes.objects.add_folder(
            ua.NodeId.from_string(f"ns={idx};s={layout.prefix}"), ua.QualifiedName(model.id, idx)
        )
        nodes: dict[str, Node] = {}
        for name, initial, vtype, writable in _VARIABLES:
            node = await folder.add_variable(
                ua.NodeId.from_string(f"ns={idx};s={layout.prefix}.{name}"),
                ua.QualifiedName(name, idx),
                ua.Variant(initial, vtype),
            )
            if writable:
                await node.set_writable()
            nodes[name] = node
        await nodes["IdealCycle"].write_value(
            ua.Variant(model.spec.ideal_cycle_s, ua.VariantType.Double)
        )
        return _Exposed(model, layout, nodes)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            await self.tick()

    async def tick(self) -> None:
        """Apply client writes, advance the models, publish what changed."""
        now = self._clock()
        for item in self._exposed:
            self._take_downlink(item, now)
            item.model.advance(now)
        await self._publish()

    def _take_downlink(self, item: _Exposed, now: int) -> None:
        assert self._server is not None
        order_dv = self._server.read_attribute_value(item.nodes["ActiveOrder"].nodeid)
        target_dv = self._server.read_attribute_value(item.nodes["TargetQty"].nodeid)
        order = str(order_dv.Value.Value if order_dv.Value else "") or ""
        target = int(target_dv.Value.Value if target_dv.Value else 0)
        if order != item.wire_order or target != item.wire_target:
            log.info("downlink %s: order=%r target=%d", item.model.id, order, target)
            item.model.set_order(order or None, target, now)

    async def _publish(self) -> None:
        for item in self._exposed:
            events = item.model.truth.events[item.sent_events :]
            if events:
                item.sent_events += len(events)
                await self._write_changes(item, events[-1].ts_ns)

    async def _write_changes(self, item: _Exposed, ts_ns: int) -> None:
        truth, model = item.model.truth, item.model
        state = model.state
        values: dict[str, tuple[Any, ua.VariantType]] = {
            "Count": (model.wire_count % 2**32, U32),
            "Reject": (truth.reject % 2**32, U32),
            "Good": (truth.good % 2**32, U32),
            "State": (item.layout.state_codes.get(state, 0), ua.VariantType.UInt16),
            "MachineryItemState": (MACHINERY_ITEM_STATE[state], ua.VariantType.Int32),
            "MachineryOperationMode": (MACHINERY_OPERATION_MODE[state], ua.VariantType.Int32),
            "ActiveOrder": (model.order or "", ua.VariantType.String),
            "TargetQty": (model.target % 2**32, U32),
            "LastCycleTime": (model.last_cycle_s, ua.VariantType.Double),
        }
        item.wire_order, item.wire_target = model.order or "", model.target
        assert self._server is not None
        source_ts = _dt(ts_ns)
        for name, (value, vtype) in values.items():
            node = item.nodes[name]
            current = self._server.read_attribute_value(node.nodeid)
            if current.Value is not None and current.Value.Value == value:
                continue
            dv = ua.DataValue(
                ua.Variant(value, vtype),
                SourceTimestamp=source_ts,
                ServerTimestamp=_dt(self._clock()),
            )
            await self._server.write_attribute_value(node.nodeid, dv)
