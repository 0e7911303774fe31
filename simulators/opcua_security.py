"""Security setup of the simulated OPC UA PLC: self-signed certificate and user check.

The certificate and key are generated on first start into a folder and reused afterwards
(``server_cert.der``, ``server_key.pem``), through asyncua's own certificate helpers.
"""

from __future__ import annotations

import asyncio
import hmac
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

SecurityMode = Literal["None", "Basic256Sha256", "all"]

_POLICIES: dict[str, list[ua.SecurityPolicyType]] = {
    "None": [ua.SecurityPolicyType.NoSecurity],
    "Basic256Sha256": [
        ua.SecurityPolicyType.Basic256Sha256_Sign,
        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ],
}
_POLICIES["all"] = _POLICIES["None"] + _POLICIES["Basic256Sha256"]


def policies(mode: SecurityMode) -> list[ua.SecurityPolicyType]:
    return list(_POLICIES[mode])


@dataclass(frozen=True)
class CertificateFiles:
    certificate: Path
    private_key: Path


async def ensure_certificate(folder: Path, app_uri: str) -> CertificateFiles:
    """Create (once) a self-signed server certificate for ``app_uri`` in ``folder``."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    files = CertificateFiles(folder / "server_cert.der", folder / "server_key.pem")
    await setup_self_signed_certificate(
        files.private_key,
        files.certificate,
        app_uri,
        socket.gethostname(),
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": "Atelier simulated PLC", "organizationName": "Atelier"},
    )
    return files


class PasswordUserManager(UserManager):
    """Accepts exactly one user name and password (compared in constant time)."""

    def __init__(self, user: str, password: str) -> None:
        self._user = user
        self._password = password

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is None or password is None:
            return None
        same_user = hmac.compare_digest(username.encode(), self._user.encode())
        same_password = hmac.compare_digest(password.encode(), self._password.encode())
        return User(role=UserRole.User, name=username) if same_user and same_password else None
