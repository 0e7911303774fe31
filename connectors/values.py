"""Raw protocol values -> sample floats: booleans, numbers, enums and state maps, scale/offset.

Pure. A signal with a ``states`` map is a state signal: its raw value (as a string key: ``"1"``,
``"RUN"``, ``"true"``) is mapped to a canonical :class:`MachineState` code; an unmapped value
raises :class:`BadInput` ``unmapped_state`` carrying the ``unknown`` code to emit instead.
Any other signal is numeric: ``value * scale + offset``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from connectors.base import BadInput, ConfigurationError, MachineState


def state_codes(states: Mapping[str, str] | None, *, signal: str) -> dict[str, int] | None:
    """Config ``{source value: canonical name}`` -> ``{source key: code}``; unknown names fail."""
    if states is None:
        return None
    codes: dict[str, int] = {}
    for raw, name in states.items():
        try:
            codes[raw_key(raw)] = int(MachineState[str(name).strip().lower()])
        except KeyError:
            known = ", ".join(s.name for s in MachineState)
            raise ConfigurationError(
                f"signal {signal!r}: state {name!r} is not one of {known}"
            ) from None
    return codes


def raw_key(raw: object) -> str:
    """The lookup key of a raw value in a states map: ``1``, ``1.0``, ``"1"`` -> ``"1"``."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str):
        return raw.strip()
    # Enum members (OPC UA enumerations arrive as IntEnum) map by their integer value.
    value = getattr(raw, "value", None)
    if isinstance(value, int):
        return str(value)
    return str(raw)


class UnmappedState(BadInput):
    """A state value missing from the map; emit ``MachineState.unknown`` and count it."""

    def __init__(self, key: str) -> None:
        super().__init__("unmapped_state", key)


@dataclass(frozen=True, slots=True)
class ValueMap:
    """How one signal's raw values become floats."""

    scale: float = 1.0
    offset: float = 0.0
    states: Mapping[str, int] | None = None

    def convert(self, raw: object) -> float:
        """Raw -> float; raises BadInput ``wrong_type`` / ``unmapped_state`` / ``not_finite``."""
        if self.states is not None:
            code = self.states.get(raw_key(raw))
            if code is None:
                raise UnmappedState(raw_key(raw))
            return float(code)
        value = to_number(raw)
        if self.scale != 1.0 or self.offset != 0.0:
            value = value * self.scale + self.offset
        return value


def to_number(raw: object) -> float:
    """bool/int/float/numeric string/int enum -> float, else BadInput ``wrong_type``."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:  # an integer beyond float's range (JSON allows any length)
            raise BadInput("not_finite", f"{str(raw)[:20]}... ({len(str(raw))} digits)") from None
    elif isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            raise BadInput("wrong_type", f"not a number: {raw[:40]!r}") from None
    elif isinstance(getattr(raw, "value", None), int):
        value = float(raw.value)  # type: ignore[attr-defined]
    else:
        raise BadInput("wrong_type", f"unsupported value type {type(raw).__name__}")
    if not math.isfinite(value):
        raise BadInput("not_finite", repr(value))
    return value
