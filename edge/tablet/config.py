"""The tablet's view of the edge config: reason trees and the operator directory.

``edge.config`` (H-config) holds ``stop_reasons`` (categories of reasons), ``scrap_reasons`` and
``operators`` (``pin_sha256``, ``badge``). Operators' secrets become :class:`OperatorAccount`
hashes: ``pin_sha256`` is kept as ``sha256$<hex>`` (see :mod:`edge.tablet.auth` for why a salted
``scrypt`` hash is preferred) and a badge code is hashed at load so it is not kept in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

from edge.config import EdgeConfig
from edge.tablet.auth import OperatorAccount, OperatorDirectory
from edge.tablet.models import Reason


class _Labels(Protocol):
    @property
    def en(self) -> str: ...
    @property
    def fr(self) -> str | None: ...


def _labels(labels: _Labels) -> dict[str, str]:
    return {"en": labels.en, "fr": labels.fr or labels.en}


def reasons_from_config(config: EdgeConfig) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
    """(stop reason tree, scrap reasons) from the config (its defaults when not set)."""
    stops = tuple(
        Reason(
            cat.code,
            _labels(cat.labels),
            tuple(Reason(r.code, _labels(r.labels), planned=r.planned) for r in cat.reasons),
        )
        for cat in config.stop_reasons
    )
    scrap = tuple(Reason(r.code, _labels(r.labels)) for r in config.scrap_reasons)
    return stops, scrap


class _Operator(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def pin_hash(self) -> str | None: ...
    @property
    def pin_sha256(self) -> str | None: ...
    @property
    def badge(self) -> str | None: ...


def directory_from_config(operators: Iterable[_Operator]) -> OperatorDirectory:
    accounts = []
    for op in operators:
        pin = op.pin_hash or (f"sha256${op.pin_sha256}" if op.pin_sha256 else None)
        badge = f"sha256${hashlib.sha256(op.badge.encode()).hexdigest()}" if op.badge else None
        accounts.append(OperatorAccount(op.id, op.name, pin, badge))
    return OperatorDirectory(accounts)
