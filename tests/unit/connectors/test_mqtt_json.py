from __future__ import annotations

import pytest

from connectors.base import BadInput, MachineState, Sample
from connectors.mqtt_json import JsonDecoder, parse_timestamp_ns
from connectors.specs import MqttSignalSpec

SIGNALS = (
    MqttSignalSpec("count", "counters.total"),
    MqttSignalSpec("reject", "counters.reject"),
    MqttSignalSpec("state", "status", states={"RUN": "running", "ALARM": "fault"}),
    MqttSignalSpec("temp", "t", scale=0.1),
)


def decoder(**kw: object) -> JsonDecoder:
    return JsonDecoder("oven-03", SIGNALS, **kw)  # type: ignore[arg-type]


def test_dotted_paths_states_scale_and_receive_time() -> None:
    out: list[Sample] = []
    bad = decoder().decode(
        "plant/oven-03/telemetry",
        b'{"counters": {"total": 12, "reject": 1}, "status": "RUN", "t": 215}',
        77,
        out,
    )
    assert bad == []
    assert out == [
        Sample(77, "oven-03", "count", 12.0),
        Sample(77, "oven-03", "reject", 1.0),
        Sample(77, "oven-03", "state", float(MachineState.running)),
        Sample(77, "oven-03", "temp", pytest.approx(21.5)),  # type: ignore[arg-type]
    ]


def test_machine_level_and_timestamp_field() -> None:
    out: list[Sample] = []
    d = decoder(machine_level=1, timestamp_field="ts")
    d.decode("plant/oven-07/telemetry", b'{"ts": 1700000000123, "counters": {"total": 1}}', 5, out)
    d.decode(
        "plant/oven-08/telemetry",
        b'{"ts": "2023-11-14T22:13:20.5Z", "counters": {"total": 2}}',
        5,
        out,
    )
    assert out == [
        Sample(1_700_000_000_123_000_000, "oven-07", "count", 1.0),
        Sample(1_700_000_000_500_000_000, "oven-08", "count", 2.0),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[1, 2]", "not_object"),
        (b'{"other": 1}', "no_known_fields"),
    ],
)
def test_whole_message_problems(payload: bytes, reason: str) -> None:
    with pytest.raises(BadInput) as info:
        decoder().decode("t", payload, 0, [])
    assert info.value.reason == reason


def test_one_bad_field_does_not_lose_the_others() -> None:
    out: list[Sample] = []
    bad = decoder().decode(
        "t", b'{"counters": {"total": "lots", "reject": 2}, "status": "NAP"}', 1, out
    )
    assert sorted(b.reason for b in bad) == ["unmapped_state", "wrong_type"]
    assert out == [Sample(1, "oven-03", "reject", 2.0), Sample(1, "oven-03", "state", 0.0)]


def test_timestamps() -> None:
    assert parse_timestamp_ns(1) == 1_000_000
    assert parse_timestamp_ns("1970-01-01T00:00:01+01:00") == -3599 * 10**9
    for bad in ("yesterday", True, None):
        with pytest.raises(BadInput):
            parse_timestamp_ns(bad)
