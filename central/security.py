"""API tokens: creation, hashing at rest, verification, and the failed-auth rate log.

A token is ``atl_`` + 32 random bytes (URL-safe base64). Only its SHA-256 is stored: a token is
looked up by hash (the secret has 256 bits of entropy, so a plain hash is enough — no slow KDF
needed) and the stored hash is compared with :func:`hmac.compare_digest`. Tokens never reach a
log: only their 8-character prefix and name do.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.tables import ApiToken, Edge

log = logging.getLogger(__name__)

TOKEN_PREFIX = "atl_"


class Role(StrEnum):
    PLANNER = "planner"
    VIEWER = "viewer"
    ADMIN = "admin"
    EDGE = "edge"


READ_ROLES = frozenset({Role.VIEWER, Role.PLANNER, Role.ADMIN})
WRITE_ROLES = frozenset({Role.PLANNER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    name: str
    role: Role
    edge_id: str | None


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, name: str, role: Role | str, edge_id: str | None) -> str:
    """Store a new token (and its edge, for an edge token); return the secret, shown once."""
    role = Role(role)
    if (role is Role.EDGE) != (edge_id is not None):
        raise ValueError("an edge token needs --edge, and only an edge token may have one")
    now = datetime.now(UTC)
    if edge_id is not None and session.get(Edge, edge_id) is None:
        session.add(Edge(id=edge_id, name=edge_id, created_at=now, dispatch_version=1))
        session.flush()
    token = generate_token()
    session.add(
        ApiToken(
            name=name,
            role=role.value,
            edge_id=edge_id,
            token_hash=hash_token(token),
            prefix=token[:8],
            created_at=now,
        )
    )
    session.commit()
    return token


def lookup_token(session: Session, token: str) -> Principal | None:
    digest = hash_token(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.token_hash, digest):
        return None
    return Principal(token_id=row.id, name=row.name, role=Role(row.role), edge_id=row.edge_id)


class TokenCache:
    """Verified tokens for ``ttl_s`` seconds, keyed by hash (revocation applies within ttl_s)."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        if self._ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get(hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[hash_token(token)] = (time.monotonic() + self._ttl_s, principal)


class FailedAuthLog:
    """Counts failed authentications; logs the rate at most once per ``period_s``."""

    def __init__(self, period_s: float = 10.0) -> None:
        self._period_s = period_s
        self._lock = threading.Lock()
        self._count = 0
        self._last_log = -float("inf")
        self.total = 0

    def failed(self, client: str, reason: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            self.total += 1
            since = now - self._last_log
            if since < self._period_s:
                return
            count, self._count, self._last_log = self._count, 0, now
        window = f"{since:.0f} s" if since != float("inf") else "first failure"
        log.warning(
            "failed authentication: %d since the last report (%s; latest from %s: %s)",
            count,
            window,
            client,
            reason,
        )
