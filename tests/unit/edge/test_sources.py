"""Config source models → connector specs, field by field."""

from __future__ import annotations

from pathlib import Path

from connectors.specs import ModbusSourceSpec, MqttSourceSpec, OpcUaSourceSpec
from edge.config import load_config
from edge.sources import (
    MAX_IN_FLIGHT,
    WRITE_POLL_MS,
    connector_factories,
    source_spec,
    write_spec,
)

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
        sampled = source_spec(config.edge.id, machine, config.edge.queue_max_samples)
        assert isinstance(sampled, OpcUaSourceSpec | ModbusSourceSpec)
        assert {"count", "state"} <= {s.name for s in sampled.signals}
        assert not {"order", "target"} & {s.name for s in sampled.signals}
        written = write_spec(machine)
        assert isinstance(written, type(sampled))
        assert {s.name for s in written.signals} == {"order", "target"}
        assert written.poll_ms == WRITE_POLL_MS
    press = write_spec(machines["press-01"])
    assert isinstance(press, OpcUaSourceSpec) and press.mode == "poll"
    assert write_spec(machines["oven-03"]) is None  # MQTT: no downlink
