"""Operator identity: hashed PINs and badges, and throttling of failed logins.

A secret (PIN or badge code) is stored as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``
(hashlib.scrypt, 16-byte random salt); :func:`hash_secret` makes one. ``sha256$<hex>`` is also
understood because the edge config's ``operators[].pin_sha256`` holds an unsalted SHA-256: a
4-digit PIN hashed that way is found by trying all 10,000 PINs, so the salted, slow scrypt form
is the one to use wherever the hash may leak; the login throttle protects both online. Failed
logins are throttled per terminal (client address): after ``free_attempts`` failures each new
failure doubles the wait, capped at ``max_wait_s``; a success clears the count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SCRYPT_N = 2**14  # ~16 MiB, ~50 ms on this class of machine: slow for brute force, fine per login
SCRYPT_R = 8
SCRYPT_P = 1


def hash_secret(secret: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` matches ``stored``; a malformed ``stored`` never matches."""
    if stored.startswith("sha256$"):
        expected_hex = stored.removeprefix("sha256$").lower()
        actual_hex = hashlib.sha256(secret.encode()).hexdigest()
        return hmac.compare_digest(actual_hex.encode(), expected_hex.encode())
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(
            secret.encode(),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True, slots=True)
class OperatorAccount:
    """An operator who may log in; ``pin_hash``/``badge_hash`` from :func:`hash_secret`."""

    id: str
    name: str
    pin_hash: str | None = None
    badge_hash: str | None = None

    def __repr__(self) -> str:  # hashes stay out of logs
        return f"OperatorAccount(id={self.id!r}, name={self.name!r})"


class OperatorDirectory:
    def __init__(self, accounts: Iterable[OperatorAccount]) -> None:
        self._accounts = {a.id: a for a in accounts}

    def all(self) -> tuple[OperatorAccount, ...]:
        return tuple(sorted(self._accounts.values(), key=lambda a: a.name))

    def get(self, operator_id: str) -> OperatorAccount | None:
        return self._accounts.get(operator_id)

    def check_pin(self, operator_id: str, pin: str) -> OperatorAccount | None:
        account = self._accounts.get(operator_id)
        if account is None or account.pin_hash is None or not pin:
            return None
        return account if verify_secret(pin, account.pin_hash) else None

    def check_badge(self, badge: str) -> OperatorAccount | None:
        if not badge:
            return None
        for account in self._accounts.values():
            if account.badge_hash is not None and verify_secret(badge, account.badge_hash):
                return account
        return None


class LoginThrottle:
    """Exponential back-off of failed logins per terminal. ``clock`` returns seconds."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        free_attempts: int = 3,
        base_wait_s: float = 2.0,
        max_wait_s: float = 300.0,
    ) -> None:
        self._clock = clock
        self._free = free_attempts
        self._base = base_wait_s
        self._max = max_wait_s
        self._state: dict[str, tuple[int, float]] = {}  # terminal -> (failures, locked until)

    def wait_s(self, terminal: str) -> float:
        """Seconds before ``terminal`` may try again (0: now)."""
        _, until = self._state.get(terminal, (0, 0.0))
        return max(0.0, until - self._clock())

    def failure(self, terminal: str) -> float:
        failures = self._state.get(terminal, (0, 0.0))[0] + 1
        over = failures - self._free
        wait = 0.0 if over <= 0 else min(self._max, self._base * 2 ** (over - 1))
        self._state[terminal] = (failures, self._clock() + wait)
        return wait

    def success(self, terminal: str) -> None:
        self._state.pop(terminal, None)
