"""Operators' PINs: the salted ``pin_hash`` form, the legacy ``pin_sha256``, and ``hash-pin``."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from edge.cli import main
from edge.config import ConfigError, parse_config
from edge.tablet.auth import verify_secret
from edge.tablet.config import directory_from_config
from tests.unit.config.test_config import good


def with_operator(**operator: Any) -> dict[str, Any]:
    data = good()
    data["operators"] = [{"id": "op-1", "name": "Ana", **operator}]
    return data


def test_hash_pin_prints_a_salted_hash_that_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash-pin", "--pin", "4321"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["hash-pin", "--pin", "4321"]) == 0
    second = capsys.readouterr().out.strip()
    assert first.startswith("scrypt$") and "4321" not in first
    assert first != second  # salted: the same PIN never hashes alike
    assert verify_secret("4321", first) and not verify_secret("1234", first)


def test_an_empty_pin_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash-pin", "--pin", " "]) == 2
    assert "empty" in capsys.readouterr().err


def test_pin_hash_logs_in_through_the_tablet_directory(capsys: pytest.CaptureFixture[str]) -> None:
    main(["hash-pin", "--pin", "2468"])
    config = parse_config(with_operator(pin_hash=capsys.readouterr().out.strip()))
    directory = directory_from_config(config.operators)
    assert directory.check_pin("op-1", "2468") is not None
    assert directory.check_pin("op-1", "2469") is None


def test_legacy_pin_sha256_still_logs_in() -> None:
    config = parse_config(with_operator(pin_sha256=hashlib.sha256(b"1357").hexdigest()))
    assert directory_from_config(config.operators).check_pin("op-1", "1357") is not None


@pytest.mark.parametrize(
    ("operator", "message"),
    [
        ({"pin_hash": "1234"}, "is not a salted PIN hash"),
        ({"pin_hash": "scrypt$x$8$1$a$b"}, "is not a salted PIN hash"),
        ({"pin_hash": "scrypt$1024$8$1$a$b", "pin_sha256": "0" * 64}, "keep only pin_hash"),
    ],
)
def test_bad_pin_hashes_name_the_path_and_never_echo(
    operator: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(with_operator(**operator))
    lines = [f"{i.path}: {i.message}" for i in info.value.issues]
    assert any(line.startswith("operators[0]") and message in line for line in lines), lines
    assert not any("1234" in line for line in lines)
