"""Tokens: format, hashing, cache expiry; the failed-auth log rate-limits and hides secrets."""

from __future__ import annotations

import hashlib
import logging

import pytest

from central.security import (
    FailedAuthLog,
    Principal,
    Role,
    TokenCache,
    generate_token,
    hash_token,
)


def test_tokens_are_random_and_stored_as_sha256() -> None:
    a, b = generate_token(), generate_token()
    assert a != b and a.startswith("atl_") and len(a) > 40
    assert hash_token(a) == hashlib.sha256(a.encode()).hexdigest()


def test_cache_off_and_on() -> None:
    p = Principal(token_id=1, name="n", role=Role.VIEWER, edge_id=None)
    off = TokenCache(0)
    off.put("t", p)
    assert off.get("t") is None
    on = TokenCache(60)
    on.put("t", p)
    assert on.get("t") == p
    assert on.get("other") is None


def test_failed_auth_log_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    log = FailedAuthLog(period_s=3600)
    with caplog.at_level(logging.WARNING, logger="central.security"):
        for _ in range(50):
            log.failed("10.0.0.9", "unknown or revoked token")
    assert log.total == 50
    assert len(caplog.records) == 1  # the first failure; the rest wait for the next period
    assert "10.0.0.9" in caplog.text
