"""Real services for the tests: Mosquitto, PostgreSQL, Chromium.

Policy: on a developer's machine a missing service skips the test with a clear reason (or the
test falls back to an embedded part); in CI (``ATELIER_REQUIRE_SERVICES=1``, set by
``.ci/run``) a missing service is a failure, so nothing silently skips.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

REQUIRE = os.environ.get("ATELIER_REQUIRE_SERVICES", "") not in ("", "0")
MQTT_URL = os.environ.get("ATELIER_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
PG_URL = os.environ.get("ATELIER_TEST_PG_URL", "")
CHROMIUM = os.environ.get("ATELIER_CHROMIUM", "/usr/bin/chromium")


def unavailable(reason: str) -> NoReturn:
    """Skip (developer machine) or fail (CI) because a real component is missing."""
    if REQUIRE:
        pytest.fail(f"required service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def mqtt_broker() -> tuple[str, int]:
    """Host and port of the real Mosquitto broker, or skip/fail."""
    parts = urlsplit(MQTT_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    if not port_open(host, port):
        unavailable(
            f"no MQTT broker at {host}:{port} (start mosquitto or set ATELIER_TEST_MQTT_URL)"
        )
    return host, port
