"""config/edge.yaml reads what config/scenarios/demo.yaml simulates (INTERFACES: they must agree).

Loaded through each side's own parser, so a drift on either side (a port, a register, a node
name, a state code) fails here rather than as a silent `unknown` state or a zero counter.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from edge.config import EdgeConfig, ModbusSource, MqttSource, OpcUaSource, load_config
from simulators.layout import ModbusLayout, MqttLayout, OpcUaLayout
from simulators.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[3]
OPC_NAMES = {
    "count": "Count",
    "reject": "Reject",
    "state": "State",
    "order": "ActiveOrder",
    "target": "TargetQty",
}
WORD_ORDER = {"ABCD": "big", "CDAB": "little"}


def load() -> tuple[EdgeConfig, Scenario]:
    return load_config(ROOT / "config/edge.yaml"), load_scenario(
        ROOT / "config/scenarios/demo.yaml"
    )


def expected_state(sim_state: str) -> str:
    return "running" if sim_state == "micro_stop" else sim_state  # a micro-stop shows as running


def test_same_machines_and_ideal_cycles() -> None:
    edge, scenario = load()
    assert [(m.id, m.ideal_cycle_s) for m in edge.machines] == [
        (m.id, m.ideal_cycle_s) for m in scenario.machines
    ]


def test_opcua_nodes_ports_and_states() -> None:
    edge, scenario = load()
    (sim,) = [m for m in scenario.machines if m.source.protocol == "opcua"]
    layout = sim.to_spec().source
    source = edge.machine(sim.id).source
    assert isinstance(layout, OpcUaLayout) and isinstance(source, OpcUaSource)
    assert urlsplit(source.endpoint).port == scenario.servers.opcua.port
    for signal, node_name in OPC_NAMES.items():
        assert source.signals[signal].node == f"ns=2;s={layout.prefix}.{node_name}"
    states = source.signals["state"].states
    assert states is not None
    for sim_state, code in layout.state_codes.items():
        assert states[str(code)] == expected_state(sim_state)


def test_modbus_registers_and_states() -> None:
    edge, scenario = load()
    (sim,) = [m for m in scenario.machines if m.source.protocol == "modbus"]
    layout = sim.to_spec().source
    source = edge.machine(sim.id).source
    assert isinstance(layout, ModbusLayout) and isinstance(source, ModbusSource)
    assert (source.port, source.unit) == (scenario.servers.modbus.port, layout.unit)
    for name, signal in source.signals.items():
        register = layout.registers[name]
        assert (signal.address, signal.type, signal.table) == (
            register.address,
            register.type,
            register.table,
        )
        assert signal.word_order == WORD_ORDER[register.word_order]
    states = source.signals["state"].states
    assert states is not None
    for sim_state, code in layout.state_codes.items():
        assert states[str(code)] == expected_state(sim_state)


def test_mqtt_topic_and_status_texts() -> None:
    edge, scenario = load()
    (sim,) = [m for m in scenario.machines if m.source.protocol == "mqtt"]
    layout = sim.to_spec().source
    source = edge.machine(sim.id).source
    assert isinstance(layout, MqttLayout) and isinstance(source, MqttSource)
    assert source.url == scenario.servers.mqtt.url
    assert (source.topic, source.format) == (layout.topic, layout.format)
    states = source.signals["state"].states
    assert states is not None
    for sim_state, text in layout.status_text.items():
        assert states[text] == expected_state(sim_state)
