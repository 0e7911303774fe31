"""OPC UA connector against a bare asyncua server: values, time, bad nodes, poll, write,
security, restart."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

from connectors import OpcUaSecuritySpec, OpcUaSignalSpec, OpcUaSourceSpec, Reconnect, build
from connectors.base import ConfigurationError, ConnectionState, MachineState, WriteError
from tests.integration.connectors.support import BareOpcUa, Collector
from tests.support.services import free_port

pytestmark = pytest.mark.integration

STATES = {"1": "running", "2": "stopped", "3": "fault"}


def spec(endpoint: str, **kw: object) -> OpcUaSourceSpec:
    signals = kw.pop("signals", None) or (
        OpcUaSignalSpec("count", "ns=2;s=Line.Count"),
        OpcUaSignalSpec("state", "ns=2;s=Line.State", states=STATES),
        OpcUaSignalSpec("temp", "ns=2;s=Line.Temp", scale=2.0),
    )
    return OpcUaSourceSpec(
        machine="press-01",
        endpoint=endpoint,
        signals=signals,  # type: ignore[arg-type]
        publishing_ms=20,
        reconnect=Reconnect(0.1, 1.0),
        **kw,  # type: ignore[arg-type]
    )


async def test_subscription_delivers_values_with_source_time() -> None:
    async with (
        BareOpcUa(free_port()) as server,
        build(spec(server.endpoint)) as conn,
        Collector(conn) as col,
    ):
        await col.wait_for(lambda: len(col.of("count")) >= 1)
        source_ts = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
        dv = ua.DataValue(ua.Variant(41, ua.VariantType.UInt32), SourceTimestamp=source_ts)
        await server.nodes["Count"].write_value(dv)
        await server.set("State", 3, ua.VariantType.UInt16)
        await server.set("Temp", 21.5, ua.VariantType.Double)
        await col.wait_for(
            lambda: (
                [s.value for s in col.of("count")][-1:] == [41.0]
                and col.of("state")[-1].value == MachineState.fault
                and col.of("temp")[-1].value == 43.0
            )
        )
        last = col.of("count")[-1]
        assert (last.machine, last.ts_ns) == (
            "press-01",
            int(source_ts.timestamp()) * 10**9 + 678_000_000,
        )
        assert conn.state is ConnectionState.connected
        assert conn.status.samples >= 3


async def test_unknown_node_is_counted_and_the_others_keep_sampling() -> None:
    signals = (
        OpcUaSignalSpec("count", "nsu=urn:atelier:test;s=Line.Count"),  # URI resolved to ns=2
        OpcUaSignalSpec("ghost", "ns=2;s=Line.NoSuchNode"),
        OpcUaSignalSpec("lost", "nsu=urn:elsewhere;s=Line.Count"),
        OpcUaSignalSpec("state", "ns=2;s=Line.State", states={"1": "running"}),
    )
    async with (
        BareOpcUa(free_port()) as server,
        build(spec(server.endpoint, signals=signals)) as conn,
        Collector(conn) as col,
    ):
        await col.wait_for(lambda: len(col.of("count")) >= 1)
        await server.set("State", 9, ua.VariantType.UInt16)  # not in the states map
        for n in range(1, 4):
            await server.set("Count", n, ua.VariantType.UInt32)
        await col.wait_for(lambda: col.of("count")[-1].value == 3.0)
        await col.wait_for(lambda: col.of("state")[-1].value == MachineState.unknown)
        errors = conn.status.errors
        assert errors["unknown_node"] == 1
        assert errors["unknown_namespace"] == 1
        assert errors["unmapped_state"] >= 1
        assert col.of("ghost") == col.of("lost") == []


async def test_poll_mode_reads_all_nodes_and_counts_unknown_ones() -> None:
    signals = (
        OpcUaSignalSpec("count", "ns=2;s=Line.Count"),
        OpcUaSignalSpec("ghost", "ns=2;s=Line.NoSuchNode"),
    )
    async with BareOpcUa(free_port()) as server:
        await server.set("Count", 7, ua.VariantType.UInt32)
        s = spec(server.endpoint, signals=signals, mode="poll", poll_ms=50)
        async with build(s) as conn, Collector(conn) as col:
            await col.wait_for(lambda: len(col.of("count")) >= 3)
            assert {x.value for x in col.of("count")} == {7.0}
            assert conn.status.errors["unknown_node"] >= 3
            await server.set("Count", 8, ua.VariantType.UInt32)
            await col.wait_for(lambda: col.of("count")[-1].value == 8.0)


async def test_write_uses_the_node_data_type() -> None:
    signals = (
        OpcUaSignalSpec("count", "ns=2;s=Line.Count"),
        OpcUaSignalSpec("order", "ns=2;s=Line.Order"),
        OpcUaSignalSpec("target", "ns=2;s=Line.Target"),
    )
    async with (
        BareOpcUa(free_port()) as server,
        build(spec(server.endpoint, signals=signals)) as conn,
        Collector(conn) as col,
    ):
        await col.wait_for(lambda: conn.state is ConnectionState.connected)
        await conn.write("order", "WO-2024-17")
        await conn.write("target", 500.0)
        assert await server.get("Order") == "WO-2024-17"
        target = await server.nodes["Target"].read_data_value()
        assert target.Value.VariantType is ua.VariantType.UInt32
        assert target.Value.Value == 500
        await col.wait_for(lambda: any(s.value == 500.0 for s in col.of("target")))
        with pytest.raises(WriteError):
            await conn.write("target", 1.5)
        with pytest.raises(WriteError):
            await conn.write("nope", 1)


@pytest.mark.parametrize("mode", ["subscribe", "poll"])
async def test_write_signals_are_written_and_never_sampled(mode: str) -> None:
    """``order`` is a String node: sampled, it would be ``wrong_type`` bad input."""
    writes = (
        OpcUaSignalSpec("order", "ns=2;s=Line.Order"),
        OpcUaSignalSpec("target", "ns=2;s=Line.Target"),
    )
    s = spec("", signals=(OpcUaSignalSpec("count", "ns=2;s=Line.Count"),))
    async with BareOpcUa(free_port()) as server:
        s = spec(server.endpoint, signals=s.signals, write_signals=writes, mode=mode, poll_ms=50)
        async with build(s) as conn, Collector(conn) as col:
            await col.wait_for(lambda: len(col.of("count")) >= 1)
            for order in ("WO-1", "WO-2"):
                await conn.write("order", order)
                await conn.write("target", 40.0)
                assert await server.get("Order") == order
            assert await server.get("Target") == 40
            await server.set("Count", 3, ua.VariantType.UInt32)
            await col.wait_for(lambda: col.of("count")[-1].value == 3.0)
            assert {x.signal for x in col.samples} == {"count"}
            assert dict(conn.status.errors) == {}


async def test_a_signal_name_used_twice_is_a_configuration_error() -> None:
    count = OpcUaSignalSpec("count", "ns=2;s=Line.Count")
    with pytest.raises(ConfigurationError, match="used twice"):
        build(spec("opc.tcp://127.0.0.1:4840", signals=(count,), write_signals=(count,)))


async def test_server_restart_on_the_same_port_resumes_without_restarting_the_connector() -> None:
    port = free_port()
    async with BareOpcUa(port) as server:
        conn = build(spec(server.endpoint))
        async with conn, Collector(conn) as col:
            await server.set("Count", 1, ua.VariantType.UInt32)
            await col.wait_for(lambda: any(s.value == 1.0 for s in col.of("count")))
            await server.__aexit__(None, None, None)
            await col.wait_for(lambda: conn.state is not ConnectionState.connected, 10)
            async with BareOpcUa(port) as restarted:
                await restarted.set("Count", 2, ua.VariantType.UInt32)
                took = await col.wait_for(
                    lambda: any(s.value == 2.0 for s in col.of("count")), timeout_s=10
                )
                assert took < 10
                assert conn.state is ConnectionState.connected
                assert conn.status.errors["connection_lost"] >= 1
                await restarted.set("Count", 3, ua.VariantType.UInt32)
                await col.wait_for(lambda: col.of("count")[-1].value == 3.0)


class _OneUser(UserManager):
    def get_user(self, iserver, username=None, password=None, certificate=None):  # type: ignore[no-untyped-def]
        if username == "operator" and password == "s3cret":
            return User(role=UserRole.User)
        return None


async def _certificate(folder: Path, name: str, uri: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.der", folder / f"{name}.pem"
    await setup_self_signed_certificate(
        key,
        cert,
        uri,
        socket.gethostname(),
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": name},
    )
    return cert, key


@pytest.fixture(scope="module")
def certificates(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """Server and client certificates, generated once for the module (RSA keys are slow)."""
    folder = tmp_path_factory.mktemp("opcua-certs")

    async def make() -> tuple[tuple[Path, Path], tuple[Path, Path]]:
        server = await _certificate(folder, "server", "urn:atelier:test:server")
        client = await _certificate(folder, "client", "urn:freeopcua.github.io:client")
        return server, client

    return asyncio.run(make())


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
async def test_basic256sha256_with_certificate_and_user_password_from_env(
    certificates: tuple[tuple[Path, Path], tuple[Path, Path]],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    (server_cert, server_key), (client_cert, client_key) = certificates
    monkeypatch.setenv("ATELIER_TEST_OPCUA_PASSWORD", "s3cret")
    policy = (
        ua.SecurityPolicyType.Basic256Sha256_Sign
        if mode == "Sign"
        else ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt
    )
    security = OpcUaSecuritySpec(
        policy="Basic256Sha256",
        mode=mode,  # type: ignore[arg-type]
        certificate=str(client_cert),
        private_key=str(client_key),
        user="operator",
        password_env="ATELIER_TEST_OPCUA_PASSWORD",
    )
    server = BareOpcUa(
        free_port(),
        policies=[policy],
        certificate=server_cert,
        private_key=server_key,
        user_manager=_OneUser(),
    )
    async with server:
        await server.set("Count", 12, ua.VariantType.UInt32)
        async with build(spec(server.endpoint, security=security)) as conn, Collector(conn) as col:
            await col.wait_for(lambda: any(s.value == 12.0 for s in col.of("count")))
        monkeypatch.setenv("ATELIER_TEST_OPCUA_PASSWORD", "wrong")
        async with build(spec(server.endpoint, security=security)) as conn:
            await asyncio.sleep(1.0)
            assert conn.state is not ConnectionState.connected
            assert conn.status.errors.get("connect_failed", 0) >= 1
