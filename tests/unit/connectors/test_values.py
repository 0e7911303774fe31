from __future__ import annotations

import enum

import pytest

from connectors.base import BadInput, ConfigurationError, MachineState
from connectors.values import ValueMap, raw_key, state_codes, to_number


class Mode(enum.IntEnum):
    a = 3


def test_numbers_bools_strings_and_enums() -> None:
    assert to_number(True) == 1.0
    assert to_number(7) == 7.0
    assert to_number("2.5") == 2.5
    assert to_number(Mode.a) == 3.0
    for bad, reason in (("abc", "wrong_type"), ([1], "wrong_type"), (float("nan"), "not_finite")):
        with pytest.raises(BadInput) as info:
            to_number(bad)
        assert info.value.reason == reason


def test_scale_and_offset() -> None:
    assert ValueMap(scale=0.1, offset=-5).convert(100) == pytest.approx(5.0)


def test_states_map_source_values_to_canonical_codes() -> None:
    codes = state_codes(
        {"1": "running", "RUN": "running", "ALARM": "Fault", "true": "idle"}, signal="s"
    )
    m = ValueMap(states=codes)
    assert m.convert(1) == m.convert(1.0) == m.convert("1") == float(MachineState.running)
    assert m.convert(" RUN ") == float(MachineState.running)
    assert m.convert("ALARM") == float(MachineState.fault)
    assert m.convert(True) == float(MachineState.idle)
    with pytest.raises(BadInput) as info:
        m.convert("EXPLODED")
    assert info.value.reason == "unmapped_state"
    assert raw_key(Mode.a) == "3"


def test_unknown_canonical_state_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"'state'.*'sleeping'"):
        state_codes({"1": "sleeping"}, signal="state")
    assert state_codes(None, signal="x") is None
