"""MQTT over TLS with a user name and a password from the environment (private mosquitto)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from connectors import MqttSignalSpec, MqttSourceSpec, Reconnect, build
from connectors.base import ConnectionState
from tests.integration.connectors.support import Collector, Mosquitto
from tests.support.services import free_port

pytestmark = pytest.mark.integration


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is also its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "broker.pem", folder / "broker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def secured(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Certificate, key and a password file with user ``edge``."""
    cert, key = self_signed(tmp_path)
    passwords = tmp_path / "passwd"
    passwords.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "edge", "t0ps3cret"], check=True)
    return cert, key, passwords


async def test_tls_and_credentials(
    tmp_path: Path, secured: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key, passwords = secured
    port = free_port()
    extra = f"cafile {cert}\ncertfile {cert}\nkeyfile {key}\npassword_file {passwords}\n"
    topic = f"atelier-test/{uuid.uuid4().hex[:8]}/telemetry"
    monkeypatch.setenv("ATELIER_TEST_MQTT_PASSWORD", "t0ps3cret")
    spec = MqttSourceSpec(
        machine="oven-03",
        url=f"mqtts://127.0.0.1:{port}",
        topic=topic,
        username="edge",
        password_env="ATELIER_TEST_MQTT_PASSWORD",
        ca_certs=str(cert),
        signals=(MqttSignalSpec("count", "counters.total"),),
        reconnect=Reconnect(1.0, 2.0),
    )
    with Mosquitto(port, tmp_path, extra=extra, anonymous=False):
        async with build(spec) as conn, Collector(conn) as col:
            await col.wait_for(lambda: conn.state is ConnectionState.connected)
            pub = paho.Client(CallbackAPIVersion.VERSION2)
            pub.tls_set(ca_certs=str(cert))
            pub.username_pw_set("edge", "t0ps3cret")
            pub.connect("127.0.0.1", port)
            pub.loop_start()
            pub.publish(topic, json.dumps({"counters": {"total": 7}}), qos=1).wait_for_publish(5)
            pub.disconnect()
            pub.loop_stop()
            await col.wait_for(lambda: [s.value for s in col.of("count")] == [7.0])
        monkeypatch.setenv("ATELIER_TEST_MQTT_PASSWORD", "wrong")
        async with build(spec) as conn, Collector(conn) as col:
            await col.wait_for(lambda: conn.status.last_error is not None)
            assert conn.state is not ConnectionState.connected
            assert "refused" in (conn.status.last_error or "")
            assert conn.status.errors["connect_failed"] >= 1
            assert "t0ps3cret" not in str(conn.status) and "wrong" not in str(conn.status)
