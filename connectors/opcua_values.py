"""OPC UA data values -> samples, and sample values -> typed variants for writes. Pure.

Timestamps: the source timestamp when the server sends one, else the server timestamp, else
the receive time. A bad status code or an unusable value is BadInput (counted, skipped).
"""

from __future__ import annotations

from datetime import UTC, datetime

from asyncua import ua

from connectors.base import BadInput
from connectors.values import ValueMap

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_INTEGER_TYPES = {
    ua.VariantType.SByte,
    ua.VariantType.Byte,
    ua.VariantType.Int16,
    ua.VariantType.UInt16,
    ua.VariantType.Int32,
    ua.VariantType.UInt32,
    ua.VariantType.Int64,
    ua.VariantType.UInt64,
}


def datetime_ns(dt: datetime) -> int:
    """UTC datetime (aware, or naive meaning UTC as asyncua may send) -> epoch nanoseconds."""
    delta = dt - (_NAIVE_EPOCH if dt.tzinfo is None else _EPOCH)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def data_value_sample(dv: ua.DataValue, values: ValueMap, now_ns: int) -> tuple[int, float]:
    """One DataValue -> ``(ts_ns, value)``; raises BadInput."""
    status = dv.StatusCode
    if status is not None and not status.is_good():
        raise BadInput("bad_status", status.name)
    if dv.Value is None or dv.Value.Value is None:
        raise BadInput("null_value")
    ts = dv.SourceTimestamp or dv.ServerTimestamp
    return (datetime_ns(ts) if ts is not None else now_ns), values.convert(dv.Value.Value)


def to_variant(value: float | str, variant_type: ua.VariantType) -> ua.Variant:
    """A downlink value converted to the node's own data type (raises ValueError)."""
    converted: object
    if variant_type in _INTEGER_TYPES:
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not an integer for {variant_type.name}")
        converted = int(number)
    elif variant_type is ua.VariantType.Boolean:
        converted = value not in (0, 0.0, "0", "false", "False", "") and bool(value)
    elif variant_type in (ua.VariantType.Float, ua.VariantType.Double):
        converted = float(value)
    elif variant_type in (ua.VariantType.String, ua.VariantType.LocalizedText):
        converted = (
            str(value)
            if not isinstance(value, float) or not value.is_integer()
            else str(int(value))
        )
        if variant_type is ua.VariantType.LocalizedText:
            converted = ua.LocalizedText(str(converted))
    else:
        raise ValueError(f"writing {variant_type.name} is not supported")
    return ua.Variant(converted, variant_type)
