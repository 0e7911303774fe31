"""Input checks shared by the domain dataclasses (each raises InvalidInput naming the field)."""

from __future__ import annotations

import math
from datetime import datetime

from central.domain.errors import InvalidInput


def require_aware(field: str, value: datetime | None) -> None:
    """Naive datetimes are refused: every instant in the domain is absolute (UTC or offset)."""
    if value is not None and value.utcoffset() is None:
        raise InvalidInput(field, f"datetime must be timezone-aware, got naive {value.isoformat()}")


def require_non_negative(field: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(field, f"must be a finite number >= 0, got {value!r}")


def require_positive(field: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(field, f"must be a finite number > 0, got {value!r}")


def require_fraction(field: str, value: float) -> None:
    if not math.isfinite(value) or not 0 < value <= 1:
        raise InvalidInput(field, f"must be in (0, 1], got {value!r}")
