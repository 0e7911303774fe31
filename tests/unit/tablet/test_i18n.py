"""Both catalogues complete, same placeholders, every key the templates use exists."""

from __future__ import annotations

import re
import string
from datetime import UTC
from pathlib import Path

import pytest

from edge.tablet import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
SOURCES = Path(i18n.__file__).parent


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, fr = i18n.catalogue("en"), i18n.catalogue("fr")
    assert set(en) == set(fr), set(en) ^ set(fr)
    for key in en:
        assert _fields(en[key]) == _fields(fr[key]), key
        assert en[key].strip() and fr[key].strip(), key


def _used_keys() -> set[str]:
    text = "\n".join(p.read_text() for p in TEMPLATES.glob("*.html"))
    keys = set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""", text))
    code = "\n".join(p.read_text() for p in SOURCES.glob("*.py"))
    keys |= set(re.findall(r"""["']((?:login|error)\.[a-z_]+)["']""", code))
    # keys built from a prefix and a value
    states = ("unknown", "running", "idle", "stopped", "fault", "setup", "planned_stop", "offline")
    keys |= {f"state.{s}" for s in states}
    keys |= {f"status.{s}" for s in ("released", "in_progress", "paused", "completed")}
    for a in ("start", "pause", "resume", "finish"):
        keys |= {f"orders.{a}", f"orders.{a}_label", f"flash.order_{a}"}
    keys |= {
        f"flash.{k}"
        for k in ("counts", "stop_reason", "consumption", "quality", "change_confirmed")
    }
    keys |= {f"verdict.{v}" for v in ("pass", "fail")}
    keys |= {f"uom.{u}" for u in ("pcs", "kg", "m", "l")}
    keys |= {f"lang.{code}" for code in i18n.LANGUAGES}
    fields = (
        "good",
        "scrap",
        "scrap_reason",
        "reason",
        "item",
        "lot",
        "qty",
        "uom",
        "value",
        "characteristic",
        "idem",
        "action",
    )
    keys |= {f"field.{f}" for f in fields}
    keys.discard("login.html")
    return keys


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_used_key_exists(lang: str) -> None:
    missing = _used_keys() - set(i18n.catalogue(lang))
    assert not missing


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", None, "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", None, "en"),
        ("de-DE,fr;q=0.5,en;q=0.4", None, "fr"),
        ("de-DE", None, "en"),
        (None, None, "en"),
        ("fr", "en", "en"),
        ("en", "fr", "fr"),
        ("fr", "xx", "fr"),
        ("fr;q=abc, en;q=0.1", None, "en"),
    ],
)
def test_negotiate(header: str | None, cookie: str | None, expected: str) -> None:
    assert i18n.negotiate(header, cookie) == expected


def test_formatting_follows_the_language() -> None:
    fr, en = i18n.Translator("fr", UTC), i18n.Translator("en", UTC)
    assert fr.number(1234.5, 1) == "1\u202f234,5" and en.number(1234.5, 1) == "1,234.5"
    assert fr.percent(0.912) == "91,2\u00a0%" and en.percent(0.912) == "91.2%"
    assert en.percent(None) == "–"
    assert en.duration(3900) == "1\u00a0h\u00a005" and en.duration(75) == "1\u00a0min\u00a015"
    assert fr("nav.operator", name="Zoé") == "Opérateur : Zoé"
    assert en("no.such.key") == "no.such.key"
