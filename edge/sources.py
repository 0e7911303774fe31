"""Map the edge config's source models onto connector specs, field by field.

Connectors import nothing from ``edge``, so this is the one place that knows both sides. An MQTT
source without an explicit ``client_id`` gets a stable one derived from the edge and machine
ids: a stable id means a persistent broker session, so QoS 1 messages that were not acked
before a crash are redelivered after the restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
from edge.config import EdgeConfig, MachineConfig, ModbusSource, MqttSource, OpcUaSource

MAX_IN_FLIGHT = 20_000


def _path(value: Path | None) -> str | None:
    return None if value is None else str(value)


def _states(states: dict[str, str] | None) -> dict[str, str] | None:
    return None if states is None else {str(k): str(v) for k, v in states.items()}


def _opcua(machine: str, src: OpcUaSource) -> OpcUaSourceSpec:
    sec = src.security
    return OpcUaSourceSpec(
        machine=machine,
        endpoint=src.endpoint,
        signals=tuple(
            OpcUaSignalSpec(name, s.node, s.scale, s.offset, _states(s.states))
            for name, s in src.signals.items()
        ),
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


def _modbus(machine: str, src: ModbusSource) -> ModbusSourceSpec:
    return ModbusSourceSpec(
        machine=machine,
        host=src.host,
        port=src.port,
        unit=src.unit,
        poll_ms=src.poll_ms,
        timeout_ms=src.timeout_ms,
        signals=tuple(
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
            for name, s in src.signals.items()
        ),
    )


def _in_flight(src: MqttSource, queue_max_samples: int) -> int:
    """Unacked QoS 1 messages the broker may send: enough to cover a slow commit at full rate,
    no more than the sample queue can hold, and below paho's 16-bit message ids."""
    per_message = max(1, len(src.signals))
    return max(100, min(MAX_IN_FLIGHT, queue_max_samples // per_message))


def _mqtt(edge_id: str, machine: str, src: MqttSource, queue_max_samples: int) -> MqttSourceSpec:
    in_flight = _in_flight(src, queue_max_samples)
    return MqttSourceSpec(
        machine=machine,
        url=src.url,
        topic=src.topic,
        signals=tuple(
            MqttSignalSpec(name, s.field, s.scale, s.offset, _states(s.states))
            for name, s in src.signals.items()
        ),
        machine_level=src.machine_level,
        format=src.format,
        qos=src.qos,
        client_id=src.client_id or f"atelier-{edge_id}-{machine}",
        username=src.username,
        password_env=src.password_env,
        tls=src.tls,
        ca_certs=_path(src.ca_certs),
        timestamp_field=src.timestamp_field,
        receive_maximum=in_flight,
        buffer_messages=in_flight,
    )


def source_spec(edge_id: str, machine: MachineConfig, queue_max_samples: int) -> SourceSpec:
    """The connector spec of one machine's source."""
    src = machine.source
    if isinstance(src, OpcUaSource):
        return _opcua(machine.id, src)
    if isinstance(src, ModbusSource):
        return _modbus(machine.id, src)
    return _mqtt(edge_id, machine.id, src, queue_max_samples)


def connector_factories(config: EdgeConfig) -> dict[str, Callable[[], Connector]]:
    """One factory per source (named after its machine); each call builds a fresh connector."""
    from connectors import build  # the protocol stacks are imported only when running

    factories: dict[str, Callable[[], Connector]] = {}
    for machine in config.machines:
        spec = source_spec(config.edge.id, machine, config.edge.queue_max_samples)
        factories[machine.id] = lambda spec=spec: build(spec)  # type: ignore[misc]
    return factories
