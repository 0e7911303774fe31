"""Protocol adapters (OPC UA, Modbus TCP, MQTT) that turn PLC data into samples.

Imports nothing from ``edge`` or ``central``: connectors take their own frozen specs.
"""
