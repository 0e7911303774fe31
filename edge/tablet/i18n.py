"""French and English: catalogues, language negotiation, number/time formatting.

Catalogues are flat JSON files ``locales/<lang>.json`` (key -> text with ``{name}``
placeholders). The language is the ``atelier_lang`` cookie when set (the on-screen switch), else
the best match of the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "fr")
DEFAULT = "en"
LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    data = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{lang}.json: expected an object")
    return {str(k): str(v) for k, v in data.items()}


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


class Translator:
    """``t(key, **params)`` in one language; a missing key shows the key (and tests catch it)."""

    def __init__(self, lang: str, tz: tzinfo) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.tz = tz
        self._messages = catalogue(self.lang)

    def __call__(self, key: str, **params: object) -> str:
        text = self._messages.get(key, key)
        try:
            return text.format_map(params) if params else text
        except (KeyError, IndexError, ValueError):
            return text

    def number(self, value: float, digits: int = 0) -> str:
        text = f"{value:,.{digits}f}"
        if self.lang == "fr":  # 1 234,5 (narrow no-break space for thousands)
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, ratio: float | None) -> str:
        if ratio is None:
            return "–"
        # French puts a (no-break) space before %, English does not
        sep = "\u00a0" if self.lang == "fr" else ""
        return f"{self.number(ratio * 100, 1)}{sep}%"

    def duration(self, seconds: float) -> str:
        total = max(0, int(seconds))
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            return f"{hours}\u00a0h\u00a0{minutes:02d}"
        if minutes:
            return f"{minutes}\u00a0min\u00a0{secs:02d}"
        return f"{secs}\u00a0s"

    def time(self, when: datetime | None, seconds: bool = False) -> str:
        if when is None:
            return "–"
        return when.astimezone(self.tz).strftime("%H:%M:%S" if seconds else "%H:%M")

    def date(self, when: object) -> str:
        if when is None:
            return "–"
        fmt = "%d/%m/%Y" if self.lang == "fr" else "%Y-%m-%d"
        return str(when.strftime(fmt)) if hasattr(when, "strftime") else str(when)
