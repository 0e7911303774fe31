"""Map the edge config's source models onto connector specs, field by field.

Connectors import nothing from ``edge``, so this is the one place that knows both sides. An MQTT
source without an explicit ``client_id`` gets a stable one derived from the edge and machine
ids: a stable id means a persistent broker session, so QoS 1 messages that were not acked
before a crash are redelivered after the restart.

Downlink-only signals (``order``, ``target``: what the edge writes to a PLC) are not sampled:
an OPC UA String order would be bad input on every change. Sources that can write (OPC UA,
Modbus) get them as the spec's ``write_signals``: written through the sampling connection,
never read. MQTT has no downlink: there they are simply left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from connectors.base import Connector
from connectors.specs import (
    ModbusSignalSpec,
    ModbusSourceSpec,
    MqttSignalSpec,
    MqttSourceSpec,
    OpcUaSecuritySpec,
    OpcUaSignalSpec,
    OpcUaSourceSpec,
    SourceSpec,
)
from edge.config import (
    EdgeConfig,
    MachineConfig,
    ModbusSignal,
    ModbusSource,
    MqttSource,
    OpcUaSignal,
    OpcUaSource,
)

MAX_IN_FLIGHT = 20_000
DOWNLINK_SIGNALS = frozenset({"order", "target"})
S = TypeVar("S")


def _sampled(signals: Mapping[str, S]) -> dict[str, S]:
    return {name: s for name, s in signals.items() if name not in DOWNLINK_SIGNALS}


def _written(signals: Mapping[str, S]) -> dict[str, S]:
    return {name: s for name, s in signals.items() if name in DOWNLINK_SIGNALS}


def _path(value: Path | None) -> str | None:
    return None if value is None else str(value)


def _states(states: dict[str, str] | None) -> dict[str, str] | None:
    return None if states is None else {str(k): str(v) for k, v in states.items()}


def _opcua_signals(signals: Mapping[str, OpcUaSignal]) -> tuple[OpcUaSignalSpec, ...]:
    return tuple(
        OpcUaSignalSpec(name, s.node, s.scale, s.offset, _states(s.states))
        for name, s in signals.items()
    )


def _opcua(machine: str, src: OpcUaSource) -> OpcUaSourceSpec:
    sec = src.security
    return OpcUaSourceSpec(
        machine=machine,
        endpoint=src.endpoint,
        signals=_opcua_signals(_sampled(src.signals)),
        write_signals=_opcua_signals(_written(src.signals)),
        security=OpcUaSecuritySpec(
            policy=sec.policy,
            mode=sec.mode,
            certificate=_path(sec.certificate),
            private_key=_path(sec.private_key),
            server_certificate=_path(sec.server_certificate),
            user=sec.user,
            password_env=sec.password_env,
        ),
        mode=src.mode,
        poll_ms=src.poll_ms,
    )


def _modbus_signals(signals: Mapping[str, ModbusSignal]) -> tuple[ModbusSignalSpec, ...]:
    return tuple(
        ModbusSignalSpec(
            name=name,
            address=s.address,
            table=s.table,
            type=s.type,
            word_order=s.word_order,
            byte_swap=s.byte_swap,
            scale=s.scale,
            offset=s.offset,
            states=_states(s.states),
        )
        for name, s in signals.items()
    )


def _modbus(machine: str, src: ModbusSource) -> ModbusSourceSpec:
    return ModbusSourceSpec(
        machine=machine,
        host=src.host,
        port=src.port,
        unit=src.unit,
        poll_ms=src.poll_ms,
        timeout_ms=src.timeout_ms,
        signals=_modbus_signals(_sampled(src.signals)),
        write_signals=_modbus_signals(_written(src.signals)),
    )


def _in_flight(src: MqttSource, queue_max_samples: int) -> int:
    """Unacked QoS 1 messages the broker may send: enough to cover a slow commit at full rate,
    no more than the sample queue can hold, and below paho's 16-bit message ids."""
    per_message = max(1, len(_sampled(src.signals)))
    return max(100, min(MAX_IN_FLIGHT, queue_max_samples // per_message))


def _mqtt(edge_id: str, machine: str, src: MqttSource, queue_max_samples: int) -> MqttSourceSpec:
    in_flight = _in_flight(src, queue_max_samples)
    return MqttSourceSpec(
        machine=machine,
        url=src.url,
        topic=src.topic,
        signals=tuple(
            MqttSignalSpec(name, s.field, s.scale, s.offset, _states(s.states))
            for name, s in _sampled(src.signals).items()
        ),
        machine_level=src.machine_level,
        format=src.format,
        qos=src.qos,
        mqtt_version=src.mqtt_version,
        client_id=src.client_id or f"atelier-{edge_id}-{machine}",
        username=src.username,
        password_env=src.password_env,
        tls=src.tls,
        ca_certs=_path(src.ca_certs),
        timestamp_field=src.timestamp_field,
        keepalive_s=src.keepalive_s,
        receive_maximum=in_flight,
        buffer_messages=in_flight,
    )


def source_spec(edge_id: str, machine: MachineConfig, queue_max_samples: int) -> SourceSpec:
    """The connector spec of one machine's source: the signals it samples and writes."""
    src = machine.source
    if isinstance(src, OpcUaSource):
        return _opcua(machine.id, src)
    if isinstance(src, ModbusSource):
        return _modbus(machine.id, src)
    return _mqtt(edge_id, machine.id, src, queue_max_samples)


def _factory(spec: SourceSpec) -> Callable[[], Connector]:
    from connectors import build  # the protocol stacks are imported only when running

    return lambda: build(spec)


def connector_factories(config: EdgeConfig) -> dict[str, Callable[[], Connector]]:
    """One factory per source (named after its machine); each call builds a fresh connector."""
    return {
        m.id: _factory(source_spec(config.edge.id, m, config.edge.queue_max_samples))
        for m in config.machines
    }
