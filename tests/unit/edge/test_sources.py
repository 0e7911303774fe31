"""Config source models → connector specs, field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.specs import ModbusSourceSpec, MqttSourceSpec, OpcUaSourceSpec
from edge.config import ConfigError, load_config, parse_config
from edge.sources import MAX_IN_FLIGHT, connector_factories, source_spec

ROOT = Path(__file__).resolve().parents[3]


def test_demo_config_maps_every_source() -> None:
    config = load_config(ROOT / "config" / "edge.yaml")
    specs = {
        m.id: source_spec(config.edge.id, m, config.edge.queue_max_samples) for m in config.machines
    }
    press, lathe, oven = specs["press-01"], specs["lathe-02"], specs["oven-03"]
    assert isinstance(press, OpcUaSourceSpec)
    assert press.endpoint == "opc.tcp://127.0.0.1:4840"
    count = next(s for s in press.signals if s.name == "count")
    assert count.node == "ns=2;s=Press01.Count"
    state = next(s for s in press.signals if s.name == "state")
    assert state.states is not None and state.states["3"] == "fault"
    assert isinstance(lathe, ModbusSourceSpec)
    assert (lathe.port, lathe.unit, lathe.poll_ms) == (5020, 1, 250)
    lathe_count = next(s for s in lathe.signals if s.name == "count")
    assert (lathe_count.address, lathe_count.type, lathe_count.word_order) == (0, "uint32", "big")
    assert isinstance(oven, MqttSourceSpec)
    assert oven.topic == "plant/oven-03/telemetry"
    assert oven.timestamp_field == "ts"
    # A stable client id: the broker keeps the session (and unacked messages) across restarts.
    assert oven.client_id == f"atelier-{config.edge.id}-oven-03"
    # In-flight window: the sample queue's bound divided by the samples per message, capped.
    per_message = len(oven.signals)
    assert oven.receive_maximum == min(MAX_IN_FLIGHT, config.edge.queue_max_samples // per_message)
    assert set(connector_factories(config)) == {"press-01", "lathe-02", "oven-03"}


def test_downlink_signals_are_written_not_sampled() -> None:
    config = load_config(ROOT / "config" / "edge.yaml")
    machines = {m.id: m for m in config.machines}
    for machine_id in ("press-01", "lathe-02"):
        machine = machines[machine_id]
        assert {"order", "target"} <= set(machine.source.signals)
        spec = source_spec(config.edge.id, machine, config.edge.queue_max_samples)
        assert isinstance(spec, OpcUaSourceSpec | ModbusSourceSpec)
        assert {"count", "state"} <= {s.name for s in spec.signals}
        assert not {"order", "target"} & {s.name for s in spec.signals}
        assert {s.name for s in spec.write_signals} == {"order", "target"}
    press = source_spec(config.edge.id, machines["press-01"], config.edge.queue_max_samples)
    assert isinstance(press, OpcUaSourceSpec)
    assert {s.name: s.node for s in press.write_signals} == {
        name: s.node  # type: ignore[union-attr]
        for name, s in machines["press-01"].source.signals.items()
        if name in ("order", "target")
    }
    oven = source_spec(config.edge.id, machines["oven-03"], config.edge.queue_max_samples)
    assert isinstance(oven, MqttSourceSpec)  # MQTT: no downlink, no write_signals field


def _with_oven_version(value: object) -> Any:
    data = yaml.safe_load((ROOT / "config" / "edge.yaml").read_text(encoding="utf-8"))
    oven = next(m for m in data["machines"] if m["id"] == "oven-03")
    oven["source"]["mqtt_version"] = value
    return data


def test_mqtt_version_reaches_the_spec_and_a_bad_one_names_its_path() -> None:
    config = load_config(ROOT / "config" / "edge.yaml")
    oven = next(m for m in config.machines if m.id == "oven-03")
    assert source_spec(config.edge.id, oven, 1000).mqtt_version == "5"  # type: ignore[union-attr]
    for value, expected in ((5, "5"), ("3.1.1", "3.1.1")):  # YAML's bare 5 is an int
        config = parse_config(_with_oven_version(value))
        oven = next(m for m in config.machines if m.id == "oven-03")
        spec = source_spec(config.edge.id, oven, 1000)
        assert isinstance(spec, MqttSourceSpec) and spec.mqtt_version == expected
    with pytest.raises(ConfigError) as caught:
        parse_config(_with_oven_version("4"))
    [issue] = caught.value.issues
    assert issue.path.endswith("source.mqtt_version"), issue
