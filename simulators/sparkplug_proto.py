"""Sparkplug B ``Payload`` protobuf message, built with protobuf's descriptor API.

Independent of the connectors' compiled ``sparkplug_b.proto`` on purpose (the simulator must not
share a bug with the gateway). Field numbers follow Eclipse Tahu ``sparkplug_b.proto``
(package ``org.eclipse.tahu.protobuf``); only the parts the simulator sends are declared
(metadata, properties, datasets and templates are left out, which is wire compatible).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FDP = descriptor_pb2.FieldDescriptorProto

# Sparkplug B 3.0 data type codes.
INT32, INT64, UINT32, UINT64, FLOAT, DOUBLE, BOOLEAN, STRING = 3, 4, 7, 8, 9, 10, 11, 12

_METRIC_FIELDS: tuple[tuple[str, int, int, bool], ...] = (
    # name, number, type, in the ``value`` oneof
    ("name", 1, FDP.TYPE_STRING, False),
    ("alias", 2, FDP.TYPE_UINT64, False),
    ("timestamp", 3, FDP.TYPE_UINT64, False),
    ("datatype", 4, FDP.TYPE_UINT32, False),
    ("is_historical", 5, FDP.TYPE_BOOL, False),
    ("is_transient", 6, FDP.TYPE_BOOL, False),
    ("is_null", 7, FDP.TYPE_BOOL, False),
    ("int_value", 10, FDP.TYPE_UINT32, True),
    ("long_value", 11, FDP.TYPE_UINT64, True),
    ("float_value", 12, FDP.TYPE_FLOAT, True),
    ("double_value", 13, FDP.TYPE_DOUBLE, True),
    ("boolean_value", 14, FDP.TYPE_BOOL, True),
    ("string_value", 15, FDP.TYPE_STRING, True),
    ("bytes_value", 16, FDP.TYPE_BYTES, True),
)


def _build() -> Any:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="atelier_sim_sparkplug_b.proto",
        package="org.eclipse.tahu.protobuf",
        syntax="proto2",
    )
    payload = fdp.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    for name, number, ftype, in_oneof in _METRIC_FIELDS:
        field = metric.field.add(name=name, number=number, type=ftype, label=FDP.LABEL_OPTIONAL)
        if in_oneof:
            field.oneof_index = 0
    payload.field.add(name="timestamp", number=1, type=FDP.TYPE_UINT64, label=FDP.LABEL_OPTIONAL)
    payload.field.add(
        name="metrics",
        number=2,
        type=FDP.TYPE_MESSAGE,
        label=FDP.LABEL_REPEATED,
        type_name=".org.eclipse.tahu.protobuf.Payload.Metric",
    )
    payload.field.add(name="seq", number=3, type=FDP.TYPE_UINT64, label=FDP.LABEL_OPTIONAL)
    payload.field.add(name="uuid", number=4, type=FDP.TYPE_STRING, label=FDP.LABEL_OPTIONAL)
    payload.field.add(name="body", number=5, type=FDP.TYPE_BYTES, label=FDP.LABEL_OPTIONAL)
    # A private pool: no clash with the connectors' generated module in the default pool.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
    )


#: The ``Payload`` message class (``Payload.Metric`` nested).
Payload: Any = _build()
