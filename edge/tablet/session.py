"""Signed cookies: the operator session (sliding idle timeout) and the CSRF token.

A token is ``<payload b64url>.<HMAC-SHA256 b64url>`` keyed by the tablet secret. The session
payload holds the operator id and the time of the last request; each request inside the idle
timeout re-issues it (sliding), after that it is refused. The CSRF token is a random nonce,
signed, sent both as a ``SameSite=Strict`` cookie and as a hidden form field (signed double
submit): a POST is accepted only when both are present, valid and equal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes, *, purpose: str) -> None:
        # one key per purpose, so that a CSRF token can never pass as a session
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def sign(self, payload: bytes) -> str:
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def unsign(self, token: str) -> bytes | None:
        try:
            data, mac = token.split(".")
            payload = _unb64(data)
            expected = hmac.new(self._key, payload, hashlib.sha256).digest()
            if hmac.compare_digest(_unb64(mac), expected):
                return payload
        except ValueError:  # binascii.Error is a ValueError too
            pass
        return None


@dataclass(frozen=True, slots=True)
class Session:
    operator: str
    name: str
    last_s: float  # epoch seconds of the last request


class SessionCodec:
    def __init__(self, secret: bytes, *, idle_timeout_s: float) -> None:
        self._signer = Signer(secret, purpose="session")
        self.idle_timeout_s = idle_timeout_s

    def encode(self, session: Session) -> str:
        payload = {"op": session.operator, "name": session.name, "last": session.last_s}
        return self._signer.sign(json.dumps(payload, separators=(",", ":")).encode())

    def decode(self, token: str | None, *, now_s: float) -> Session | None:
        """The session if the token is genuine and not idle for longer than the timeout."""
        payload = self._signer.unsign(token) if token else None
        if payload is None:
            return None
        try:
            data = json.loads(payload)
            session = Session(str(data["op"]), str(data["name"]), float(data["last"]))
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= now_s - session.last_s <= self.idle_timeout_s:
            return None
        return session


class CsrfCodec:
    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(secret, purpose="csrf")

    def new_token(self) -> str:
        return self._signer.sign(secrets.token_bytes(18))

    def valid(self, token: str | None) -> bool:
        return bool(token) and self._signer.unsign(token or "") is not None

    def matches(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field or not self.valid(cookie):
            return False
        return hmac.compare_digest(cookie.encode(), field.encode())
