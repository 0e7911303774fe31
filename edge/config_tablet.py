"""Config of the operator tablet: stop reasons (category -> reasons), scrap reasons, operators.

Re-exported by :mod:`edge.config`. Every section is optional: without ``stop_reasons`` or
``scrap_reasons`` the built-in lists below apply; without ``operators`` nobody can log in.
Codes are what the tablet records; labels are what it shows (English, French if given).

```yaml
stop_reasons:
  - code: breakdown
    labels: {en: Breakdown, fr: Panne}
    reasons:
      - {code: mechanical, labels: {en: Mechanical failure, fr: Panne mécanique}}
      - {code: maintenance, labels: {en: Planned maintenance}, planned: true}
scrap_reasons:
  - {code: dimension, labels: {en: Out of tolerance, fr: Hors tolérance}}
operators:
  - {id: op-001, name: Demo Operator, pin_hash: "scrypt$16384$8$1$...", badge: "0001"}
```
``pin_hash`` is the salted scrypt form printed by ``atelier-edge hash-pin`` (preferred: a leaked
config does not give the PINs away); ``pin_sha256`` (unsalted SHA-256 hex) is still accepted for
existing files, but a 4-digit PIN hashed that way is found by trying all 10,000.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from edge.config_sources import Frozen, Loc, Problems, show


def _code(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise ValueError(
            f"has value {show(value)}. Must be a code of letters, digits, '_', '.' or '-', "
            "e.g. mechanical"
        )
    return value


def _sha256_hex(value: str) -> str:
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", value):
        # Never echo it: it is the hash of a PIN.
        raise ValueError("is not a SHA-256 hex digest (64 hex digits) of the PIN")
    return value.lower()


def _scrypt_hash(value: str) -> str:
    parts = value.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        # Never echo it: it is the hash of a PIN.
        raise ValueError(
            "is not a salted PIN hash ('scrypt$N$r$p$salt$hash'): make one with "
            "`atelier-edge hash-pin`"
        )
    return value


Code = Annotated[str, AfterValidator(_code)]


class Labels(Frozen):
    en: str = Field(min_length=1)
    fr: str | None = None

    def text(self, lang: str) -> str:
        """The label in ``lang`` ("en" or "fr"), English when there is none."""
        return self.fr if lang == "fr" and self.fr else self.en


class StopReason(Frozen):
    """``planned``: the stop is planned (maintenance, no order) and not an availability loss."""

    code: Code
    labels: Labels
    planned: bool = False


class StopCategory(Frozen):
    code: Code
    labels: Labels
    reasons: tuple[StopReason, ...] = Field(min_length=1)


class ScrapReason(Frozen):
    code: Code
    labels: Labels


class Operator(Frozen):
    """Logs in with a PIN (checked against ``pin_hash`` or ``pin_sha256``) or a badge, or both."""

    id: Code
    name: str = Field(min_length=1)
    pin_hash: Annotated[str, AfterValidator(_scrypt_hash)] | None = Field(default=None, repr=False)
    pin_sha256: Annotated[str, AfterValidator(_sha256_hex)] | None = Field(default=None, repr=False)
    badge: str | None = Field(default=None, min_length=1, repr=False)

    @model_validator(mode="after")
    def _can_log_in(self) -> Operator:
        if self.pin_hash is None and self.pin_sha256 is None and self.badge is None:
            raise ValueError(
                "has neither pin_hash, pin_sha256 nor badge: the operator could not log in"
            )
        if self.pin_hash is not None and self.pin_sha256 is not None:
            raise ValueError("has both pin_hash and pin_sha256: keep only pin_hash")
        return self


def unique(items: Sequence[Any], key: str, section: str) -> None:
    """Raise :class:`Problems` at ``[i].key`` for every item repeating an earlier key."""
    problems: list[tuple[Loc, str]] = []
    first: dict[object, int] = {}
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value in first:
            problems.append(
                ((i, key), f"has value {show(value)}, already used by {section}[{first[value]}]")
            )
        first.setdefault(value, i)
    if problems:
        raise Problems(problems)


def unique_reason_codes(categories: Sequence[StopCategory]) -> None:
    """Reason codes are unique across categories: the tablet records the reason code alone."""
    problems: list[tuple[Loc, str]] = []
    first: dict[str, str] = {}
    for c, category in enumerate(categories):
        for r, reason in enumerate(category.reasons):
            if reason.code in first:
                message = f"has value {show(reason.code)}, already used by {first[reason.code]}"
                problems.append(((c, "reasons", r, "code"), message))
            first.setdefault(reason.code, f"stop_reasons[{c}].reasons[{r}]")
    if problems:
        raise Problems(problems)


def unique_badges(operators: Sequence[Operator]) -> None:
    """No two operators share a badge; the error names the owner, never the badge."""
    owner: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for i, operator in enumerate(operators):
        if operator.badge is None:
            continue
        if operator.badge in owner:
            problems.append(
                ((i, "badge"), f"is already the badge of operators[{owner[operator.badge]}]")
            )
        owner.setdefault(operator.badge, i)
    if problems:
        raise Problems(problems)


def _labels(en: str, fr: str) -> Labels:
    return Labels(en=en, fr=fr)


def _category(code: str, en: str, fr: str, *reasons: StopReason) -> StopCategory:
    return StopCategory(code=code, labels=_labels(en, fr), reasons=reasons)


def _reason(code: str, en: str, fr: str, *, planned: bool = False) -> StopReason:
    return StopReason(code=code, labels=_labels(en, fr), planned=planned)


DEFAULT_STOP_REASONS: tuple[StopCategory, ...] = (
    _category(
        "breakdown",
        "Breakdown",
        "Panne",
        _reason("mechanical", "Mechanical failure", "Panne mécanique"),
        _reason("electrical", "Electrical failure", "Panne électrique"),
        _reason("tooling", "Broken tool", "Outil cassé"),
    ),
    _category(
        "setup",
        "Setup",
        "Réglage",
        _reason("changeover", "Changeover", "Changement de série"),
        _reason("adjustment", "Adjustment", "Réglage machine"),
    ),
    _category(
        "logistics",
        "Logistics",
        "Logistique",
        _reason("no_material", "No material", "Manque matière"),
        _reason("no_operator", "No operator", "Absence opérateur"),
        _reason("downstream_full", "Downstream full", "Aval saturé"),
    ),
    _category(
        "quality",
        "Quality",
        "Qualité",
        _reason("quality_check", "Quality check", "Contrôle qualité"),
    ),
    _category(
        "planned",
        "Planned stop",
        "Arrêt planifié",
        _reason("maintenance", "Planned maintenance", "Maintenance préventive", planned=True),
        _reason("cleaning", "Cleaning", "Nettoyage", planned=True),
        _reason("no_order", "No order", "Pas d'ordre", planned=True),
    ),
)

DEFAULT_SCRAP_REASONS: tuple[ScrapReason, ...] = (
    ScrapReason(code="dimension", labels=_labels("Out of tolerance", "Hors tolérance")),
    ScrapReason(code="surface", labels=_labels("Surface defect", "Défaut d'aspect")),
    ScrapReason(code="material", labels=_labels("Material defect", "Défaut matière")),
    ScrapReason(code="setup_scrap", labels=_labels("Setup scrap", "Rebut de réglage")),
)
