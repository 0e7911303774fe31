"""Scenario files: every example loads, the demo matches INTERFACES.md, errors name the path."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.errors import ScenarioError
from simulators.layout import ModbusLayout, MqttLayout, OpcUaLayout, Register
from simulators.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[3] / "config" / "scenarios"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_scenario_loads_and_runs(path: Path) -> None:
    scenario = load_scenario(path)
    for model in scenario.models(start_ns=0):
        model.advance(3600 * 1_000_000_000)
        assert model.truth.count > 0


def test_demo_address_layout_matches_interfaces() -> None:
    scenario = load_scenario(SCENARIOS / "demo.yaml")
    assert [m.id for m in scenario.machines] == ["press-01", "lathe-02", "oven-03"]
    press, lathe, oven = (m.to_spec() for m in scenario.machines)
    assert scenario.servers.opcua.port == 4840 and scenario.servers.modbus.port == 5020
    assert isinstance(press.source, OpcUaLayout) and press.source.prefix == "Press01"
    assert press.ideal_cycle_s == 1.0 and lathe.ideal_cycle_s == 4.0 and oven.ideal_cycle_s == 30
    assert isinstance(lathe.source, ModbusLayout) and lathe.source.unit == 1
    assert dict(lathe.source.registers) == {
        "count": Register(0, "uint32", "ABCD"),
        "reject": Register(2, "uint16"),
        "state": Register(3, "uint16"),
        "order": Register(10, "uint32"),
        "target": Register(12, "uint32"),
    }
    codes = {"running": 1, "stopped": 2, "fault": 3, "setup": 4, "idle": 5}
    assert codes.items() <= dict(lathe.source.state_codes).items()
    assert isinstance(oven.source, MqttLayout)
    assert (oven.source.topic, oven.source.format) == ("plant/oven-03/telemetry", "json")
    assert scenario.servers.mqtt.url == "mqtt://127.0.0.1:1883"


def test_line_has_ten_machines_mixing_protocols() -> None:
    scenario = load_scenario(SCENARIOS / "line.yaml")
    kinds = [type(m.to_spec().source) for m in scenario.machines]
    assert len(kinds) == 10 and set(kinds) == {OpcUaLayout, ModbusLayout, MqttLayout}


def base() -> dict[str, object]:
    return {
        "machines": [
            {"id": "a", "ideal_cycle_s": 1, "source": {"protocol": "opcua"}},
            {
                "id": "b",
                "ideal_cycle_s": 1,
                "source": {"protocol": "modbus", "registers": {"count": {"address": 0}}},
            },
        ]
    }


def test_error_names_the_yaml_path() -> None:
    data = base()
    data["machines"][1]["source"]["registers"]["count"]["type"] = "uint64"  # type: ignore[index]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, source="x.yaml")
    paths = [path for path, _ in err.value.issues]
    assert paths == ["machines[1].source.registers.count.type"]
    assert "x.yaml" in str(err.value)


def test_duplicate_ids_and_unknown_keys_are_rejected() -> None:
    data = base()
    data["machines"][1]["id"] = "a"  # type: ignore[index]
    data["machines"][0]["cycle"] = 3  # type: ignore[index]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    text = str(err.value)
    assert "machines[0].cycle" in text


def test_duplicate_id_message() -> None:
    data = base()
    data["machines"][1]["id"] = "a"  # type: ignore[index]
    with pytest.raises(ScenarioError, match="duplicate machine id 'a'"):
        parse_scenario(data)


def test_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("machines: [unclosed", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.yaml"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match=r"missing\.yaml"):
        load_scenario(tmp_path / "missing.yaml")
