"""Bundled PLC simulators (OPC UA, Modbus TCP, MQTT) with ground truth.

An independent peer of the gateway: imports nothing from ``connectors``, ``edge`` or ``central``.
"""
