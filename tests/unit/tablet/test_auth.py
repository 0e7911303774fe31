from __future__ import annotations

from edge.tablet.auth import (
    LoginThrottle,
    OperatorAccount,
    OperatorDirectory,
    hash_secret,
    verify_secret,
)

FAST = {"n": 2**10, "r": 8, "p": 1}


def test_hash_is_salted_and_verifies() -> None:
    a, b = hash_secret("1234", **FAST), hash_secret("1234", **FAST)
    assert a != b  # salted
    assert a.startswith("scrypt$1024$8$1$") and "1234" not in a
    assert verify_secret("1234", a) and verify_secret("1234", b)
    assert not verify_secret("1235", a)


def test_malformed_hash_never_matches() -> None:
    for stored in ("", "scrypt$x", "sha1$1$2$3$aa$bb", "scrypt$1024$8$1$!!$??", "1234"):
        assert not verify_secret("1234", stored)


def test_directory_checks_pin_and_badge() -> None:
    directory = OperatorDirectory(
        [
            OperatorAccount("op-1", "Zoé", hash_secret("1111", **FAST), hash_secret("B-1", **FAST)),
            OperatorAccount("op-2", "Amir", hash_secret("2222", **FAST)),
        ]
    )
    assert [a.id for a in directory.all()] == ["op-2", "op-1"]  # by name
    assert directory.check_pin("op-1", "1111") is not None
    assert directory.check_pin("op-1", "2222") is None
    assert directory.check_pin("op-9", "1111") is None
    assert directory.check_pin("op-1", "") is None
    badge = directory.check_badge("B-1")
    assert badge is not None and badge.id == "op-1"
    assert directory.check_badge("B-2") is None and directory.check_badge("") is None
    assert "scrypt" not in repr(directory.get("op-1"))


def test_throttle_is_exponential_per_terminal_and_reset_by_success() -> None:
    now = [1000.0]
    throttle = LoginThrottle(lambda: now[0], free_attempts=3, base_wait_s=2, max_wait_s=10)
    assert [throttle.failure("t1") for _ in range(3)] == [0, 0, 0]
    assert throttle.wait_s("t1") == 0
    assert throttle.failure("t1") == 2
    assert throttle.wait_s("t1") == 2 and throttle.wait_s("t2") == 0
    assert throttle.failure("t1") == 4
    assert throttle.failure("t1") == 8
    assert throttle.failure("t1") == 10  # capped
    now[0] += 10
    assert throttle.wait_s("t1") == 0
    throttle.success("t1")
    assert throttle.failure("t1") == 0
