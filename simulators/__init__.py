"""Bundled PLC simulators (OPC UA, Modbus TCP, MQTT) with ground truth.

An independent peer of the gateway: imports nothing from ``connectors``, ``edge`` or ``central``
(a test parses every module to keep it so).

- ``machine``: ``MachineModel(spec, seed)`` — pure, event-driven, deterministic; ``.truth``.
- ``truth``: ``GroundTruth`` (cycle ends, rejects, state and order changes, injected faults)
  and its JSONL form.
- ``layout`` / ``scenario``: how a machine shows on the wire; scenario YAML (pydantic).
- ``opcua_plc`` / ``modbus_plc`` / ``mqtt_machine``: protocol servers, async context managers.
- ``runner``: ``SimulationRunner`` — every server of a scenario, truth streamed to JSONL.
- ``trace``: a recorded trace (CSV) and its truth, offline and fast.
- ``cli``: ``atelier-sim run|trace``.
"""
