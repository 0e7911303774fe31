"""OPC UA PLC read by asyncua's Client, without security and with Basic256Sha256."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from simulators.errors import PortInUseError
from simulators.layout import OpcUaLayout
from simulators.machine import Behaviour, MachineModel, MachineSpec
from simulators.opcua_plc import OpcUaPlc
from tests.support.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

USER, PASSWORD = "operator", "s3cret-pw"
FAST = Behaviour(jitter=0.1, reject_rate=0.25, setup_s=0.6)


def ns(dt: datetime) -> int:
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


class Plant:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.press = MachineModel(
            MachineSpec("press-01", 0.1, FAST, order="WO-1001", source=OpcUaLayout("Press01")), 1
        )
        self.other = MachineModel(MachineSpec("saw-02", 0.3, FAST), 2)
        self.plc = OpcUaPlc(
            [self.press, self.other],
            port=free_port(),
            security="all",
            cert_dir=folder / "server-pki",
            user=USER,
            password=PASSWORD,
            tick_s=0.05,
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Plant]:
    p = Plant(tmp_path_factory.mktemp("opcua"))
    async with p.plc:
        yield p


def plain_client(plant: Plant) -> Client:
    client = Client(plant.plc.endpoint, timeout=5)
    client.set_user(USER)
    client.set_password(PASSWORD)
    return client


async def secure_client(plant: Plant, mode: ua.MessageSecurityMode) -> Client:
    key, cert = plant.folder / "client_key.pem", plant.folder / "client_cert.der"
    uri = "urn:atelier:tests:client"
    await setup_self_signed_certificate(
        key, cert, uri, socket.gethostname(), [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "t"}
    )
    client = plain_client(plant)
    client.application_uri = uri
    assert plant.plc.certificate is not None
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        certificate=str(cert),
        private_key=str(key),
        server_certificate=str(plant.plc.certificate),
        mode=mode,
    )
    return client


async def check_values_match_truth(client: Client, plant: Plant) -> None:
    node = {
        n: client.get_node(plant.plc.node_id("press-01", n)) for n in ("Count", "Reject", "State")
    }
    truth = plant.press.truth
    count = await node["Count"].read_data_value()
    reject = await node["Reject"].read_data_value()
    assert count.SourceTimestamp is not None and reject.SourceTimestamp is not None
    # The value shown is the truth as of its source timestamp (the model's event time).
    assert count.Value.Value == truth.count_at(ns(count.SourceTimestamp) + 999) > 0
    assert reject.Value.Value == truth.reject_at(ns(reject.SourceTimestamp) + 999)
    assert ns(count.SourceTimestamp) // 1000 in {t // 1000 for t in truth.cycle_end_ns}
    state = await node["State"].read_value()
    assert state in (1, 4)


async def test_plain_endpoint_values_match_truth(plant: Plant) -> None:
    await asyncio.sleep(0.5)
    async with plain_client(plant) as client:
        assert plant.plc.namespace_index == 2
        assert plant.plc.node_id("press-01", "Count") == "ns=2;s=Press01.Count"
        await check_values_match_truth(client, plant)
        ideal = await client.get_node("ns=2;s=Press01.IdealCycle").read_value()
        item_state = await client.get_node("ns=2;s=Press01.MachineryItemState").read_value()
        assert ideal == 0.1 and item_state in (2, 3)
        folder = await client.nodes.objects.get_child(["2:press-01"])
        names = {(await c.read_browse_name()).Name for c in await folder.get_children()}
        assert {"Count", "Reject", "State", "ActiveOrder", "TargetQty", "IdealCycle"} <= names


@pytest.mark.parametrize(
    "mode", [ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt], ids=str
)
async def test_basic256sha256_endpoint_values_match_truth(plant: Plant, mode: Any) -> None:
    client = await secure_client(plant, mode)
    async with client:
        assert client.security_policy.Mode == mode
        await check_values_match_truth(client, plant)


async def test_wrong_password_and_anonymous_are_refused(plant: Plant) -> None:
    anonymous = Client(plant.plc.endpoint, timeout=5)
    with pytest.raises(ua.UaError):
        async with anonymous:
            pass
    wrong = Client(plant.plc.endpoint, timeout=5)
    wrong.set_user(USER)
    wrong.set_password("nope")
    with pytest.raises(ua.UaError):
        async with wrong:
            pass


class Collector:
    def __init__(self) -> None:
        self.items: list[ua.DataValue] = []

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.items.append(data.monitored_item.Value)


async def test_subscription_notifications_carry_source_timestamps(plant: Plant) -> None:
    collector = Collector()
    async with plain_client(plant) as client:
        sub = await client.create_subscription(20, collector)
        await sub.subscribe_data_change(
            client.get_node(plant.plc.node_id("press-01", "Count")), sampling_interval=0
        )
        await asyncio.sleep(1.0)
        await sub.delete()
    values = [dv.Value.Value for dv in collector.items]
    assert len(values) >= 4 and values == sorted(values)
    for dv in collector.items:
        assert dv.Value.Value == plant.press.truth.count_at(ns(dv.SourceTimestamp) + 999)


async def test_downlink_order_and_target_cause_a_setup(plant: Plant) -> None:
    async with plain_client(plant) as client:
        order = client.get_node(plant.plc.node_id("press-01", "ActiveOrder"))
        target = client.get_node(plant.plc.node_id("press-01", "TargetQty"))
        await target.write_value(ua.Variant(25, ua.VariantType.UInt32))
        await order.write_value(ua.Variant("WO-2002", ua.VariantType.String))
        await asyncio.sleep(0.3)
        changes = [e for e in plant.press.truth.order_changes() if e.cause == "downlink"]
        assert changes[-1].order == "WO-2002" and changes[-1].target == 25
        setup = [e for e in plant.press.truth.state_changes() if e.ts_ns == changes[-1].ts_ns]
        assert setup[-1].state == "setup"
        assert await client.get_node(plant.plc.node_id("press-01", "State")).read_value() == 4
        await asyncio.sleep(0.6)
        assert await order.read_value() == "WO-2002"
        assert plant.press.state in ("running", "micro_stop", "idle")


async def test_port_in_use_then_restart_on_the_same_port(plant: Plant) -> None:
    """Last test of the module: it stops the shared PLC and starts a new one on its port."""
    model = MachineModel(MachineSpec("m", 1.0), 1)
    with pytest.raises(PortInUseError):
        async with OpcUaPlc([model], port=plant.plc.port):
            pass
    await plant.plc.__aexit__(None, None, None)
    async with OpcUaPlc([model], port=plant.plc.port) as plc, Client(plc.endpoint, timeout=5) as c:
        assert await c.get_node(plc.node_id("m", "IdealCycle")).read_value() == 1.0
