"""MQTT machine over TLS with credentials, against a private Mosquitto started for the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from simulators.errors import BrokerError
from simulators.layout import MqttLayout
from simulators.machine import Behaviour, MachineModel, MachineSpec
from simulators.mqtt_machine import MqttMachine
from tests.support.services import free_port, port_open, unavailable

pytestmark = pytest.mark.integration

USER, PASSWORD = "sim", "pw-123"


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    exe, passwd = shutil.which("mosquitto") or "", shutil.which("mosquitto_passwd") or ""
    if not exe or not passwd:
        unavailable("mosquitto / mosquitto_passwd not installed")
    folder = tmp_path_factory.mktemp("tls-broker")
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _cert("atelier test CA", ca_key, None)
    server = _cert("127.0.0.1", server_key, ("atelier test CA", ca_key))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(_pem_key(server_key))
    subprocess.run([passwd, "-b", "-c", str(folder / "pw"), USER, PASSWORD], check=True)
    port = free_port()
    (folder / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\n"
        f"cafile {folder / 'ca.pem'}\ncertfile {folder / 'server.pem'}\n"
        f"keyfile {folder / 'server.key'}\n"
        f"allow_anonymous false\npassword_file {folder / 'pw'}\npersistence false\n"
        # Started as root, mosquitto drops to user "mosquitto", who cannot read tmp_path.
        f"user {getpass.getuser()}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [exe, "-c", str(folder / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if port_open("127.0.0.1", port, 0.1):
                break
            threading.Event().wait(0.05)
        assert port_open("127.0.0.1", port), "private mosquitto did not start"
        yield port, folder / "ca.pem"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class TlsSubscriber:
    def __init__(self, port: int, ca: Path, topic: str) -> None:
        self.payloads: list[bytes] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex}")
        self.client.username_pw_set(USER, PASSWORD)
        self.client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._ready.set()
        self.client.on_message = lambda c, u, m: self.payloads.append(bytes(m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._ready.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def test_tls_with_credentials_publishes_the_truth(tls_broker: tuple[int, Path]) -> None:
    port, ca = tls_broker
    topic = f"tls/{uuid.uuid4().hex[:8]}/m"
    sub = TlsSubscriber(port, ca, topic)
    model = MachineModel(
        MachineSpec("m", 0.1, Behaviour(reject_rate=0.2), source=MqttLayout(topic)), 1
    )
    try:
        async with MqttMachine(
            [model],
            f"mqtts://127.0.0.1:{port}",
            username=USER,
            password=PASSWORD,
            ca_file=str(ca),
            tick_s=0.05,
        ) as machine:
            assert machine.tls
            await asyncio.sleep(0.8)
        for _ in range(50):
            if len(sub.payloads) >= machine.published:
                break
            await asyncio.sleep(0.05)
    finally:
        sub.close()
    messages: list[dict[str, Any]] = [json.loads(p) for p in sub.payloads]
    assert len(messages) == machine.published >= 3
    last = messages[-1]
    assert last["counters"]["total"] == model.truth.count_at(last["ts"] * 1_000_000 + 999_999) > 0


async def test_wrong_password_and_untrusted_ca_are_clear_errors(
    tls_broker: tuple[int, Path], tmp_path: Path
) -> None:
    port, ca = tls_broker
    model = MachineModel(MachineSpec("m", 1.0), 1)
    url = f"mqtts://127.0.0.1:{port}"
    with pytest.raises(BrokerError, match="refused us"):
        async with MqttMachine([model], url, username=USER, password="wrong", ca_file=str(ca)):
            pass
    other_ca = tmp_path / "other.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    other_ca.write_bytes(_cert("someone else", key, None).public_bytes(serialization.Encoding.PEM))
    with pytest.raises(BrokerError, match="cannot connect"):
        async with MqttMachine(
            [model], url, username=USER, password=PASSWORD, ca_file=str(other_ca)
        ):
            pass
