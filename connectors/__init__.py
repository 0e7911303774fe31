"""Protocol adapters (OPC UA, Modbus TCP, MQTT) that turn PLC data into samples.

Imports nothing from ``edge`` or ``central``: connectors take their own frozen specs
(:mod:`connectors.specs`) and ``build(spec)`` returns the matching connector. Protocol modules
are imported lazily, so using one protocol does not load the other libraries.
"""

from __future__ import annotations

from connectors.base import Connector
from connectors.specs import (
    MemorySourceSpec,
    ModbusSignalSpec,
    ModbusSourceSpec,
    MqttSignalSpec,
    MqttSourceSpec,
    OpcUaSecuritySpec,
    OpcUaSignalSpec,
    OpcUaSourceSpec,
    Reconnect,
    SourceSpec,
)


def build(spec: SourceSpec) -> Connector:
    """The connector for ``spec`` (not connected yet: use it as an async context manager)."""
    if isinstance(spec, OpcUaSourceSpec):
        from connectors.opcua import OpcUaConnector

        return OpcUaConnector(spec)
    if isinstance(spec, ModbusSourceSpec):
        from connectors.modbus import ModbusConnector

        return ModbusConnector(spec)
    if isinstance(spec, MqttSourceSpec):
        from connectors.mqtt import MqttConnector

        return MqttConnector(spec)
    if isinstance(spec, MemorySourceSpec):
        from connectors.memory import MemoryConnector

        return MemoryConnector(spec)
    raise TypeError(f"no connector for {type(spec).__name__}")


__all__ = [
    "MemorySourceSpec",
    "ModbusSignalSpec",
    "ModbusSourceSpec",
    "MqttSignalSpec",
    "MqttSourceSpec",
    "OpcUaSecuritySpec",
    "OpcUaSignalSpec",
    "OpcUaSourceSpec",
    "Reconnect",
    "SourceSpec",
    "build",
]
