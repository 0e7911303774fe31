from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import BadInput, MachineState, Sample, SampleColumns
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


# -- clean + columns: the common message without a Sample per value, exactly as decode() ------
def _burst(
    d: JsonDecoder, topics: list[str], payloads: list[bytes], recv: list[int]
) -> tuple[list[Sample], list[tuple[str, str]], int]:
    """Each message as the connector takes it: clean() if it can, else decode()."""
    ts: list[int] = []
    machines: list[str] = []
    values: list[float] = []
    rest: list[Sample] = []
    bad: list[tuple[str, str]] = []
    for topic, payload, t in zip(topics, payloads, recv, strict=True):
        got = d.clean(payload, t, lambda topic=topic: topic)  # type: ignore[misc]
        if got is not None:
            ts.append(got[0])
            machines.append(got[1])
            values.extend(got[2])
            continue
        try:
            bad.extend((b.reason, b.detail) for b in d.decode(topic, payload, t, rest))
        except BadInput as exc:
            bad.append((exc.reason, exc.detail))
    return [*d.columns(ts, machines, values), *rest], bad, len(ts)


def _one_by_one(
    d: JsonDecoder, topics: list[str], payloads: list[bytes], recv: list[int]
) -> tuple[list[Sample], list[tuple[str, str]]]:
    out: list[Sample] = []
    bad: list[tuple[str, str]] = []
    for topic, payload, t in zip(topics, payloads, recv, strict=True):
        try:
            bad.extend((b.reason, b.detail) for b in d.decode(topic, payload, t, out))
        except BadInput as exc:
            bad.append((exc.reason, exc.detail))
    return out, bad


def burst_decoder(**kw: object) -> JsonDecoder:
    signals = (*SIGNALS[:3], MqttSignalSpec("temp", "t", scale=0.1, offset=-3.0))
    return JsonDecoder("oven-03", signals, **kw)  # type: ignore[arg-type]


def test_clean_messages_become_columns_equal_to_what_decode_gives() -> None:
    d = burst_decoder(machine_level=1, timestamp_field="ts")
    topics = [f"plant/oven-0{i % 3}/telemetry" for i in range(50)]
    payloads = [
        b'{"ts": %d, "counters": {"total": %d, "reject": %d}, "status": "%s", "t": %d.5}'
        % (1_700_000_000_000 + i, i, i // 7, b"RUN" if i % 5 else b"ALARM", 200 + i)
        for i in range(50)
    ]
    recv = list(range(50))
    samples, bad, clean = _burst(d, topics, payloads, recv)
    assert clean == 50  # every message took the column path
    assert (samples, bad) == _one_by_one(d, topics, payloads, recv)
    columns = d.columns([1, 2], ["oven-01", "oven-02"], [1.0, 2.0, 3.0, 4.0] * 2)
    assert isinstance(columns, SampleColumns) and len(columns) == 8
    assert columns[-1] == Sample(2, "oven-02", "temp", 4.0)


def test_a_number_beyond_float_range_is_malformed_json_not_a_crash() -> None:
    payload = b'{"counters": {"total": 1%s, "reject": 2}}' % (b"0" * 400)
    with pytest.raises(BadInput, match="malformed_json"):
        decoder().decode("t", payload, 0, [])
    assert decoder().clean(payload, 0, lambda: "t") is None


JSON_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.sampled_from(["RUN", "ALARM", "IDLE", " RUN", "12", "x"]),
    st.booleans(),
    st.none(),
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["clean", "clean", "clean", "fields", "junk"]))
    topic = draw(st.sampled_from(["plant/oven-01/t", "plant/oven-02/t", "short", "plant"]))
    if kind == "junk":
        payload = draw(st.sampled_from([b"{", b"[1, 2]", b"42", b'"s"', b"\xff", b"{}", b"1,2"]))
        return topic, payload
    doc: dict[str, object] = {}
    if kind == "clean":
        doc = {
            "ts": draw(st.integers(0, 2_000_000_000_000)),
            "counters": {"total": draw(st.integers(0, 2**40)), "reject": draw(st.integers(0, 9))},
            "status": draw(st.sampled_from(["RUN", "ALARM"])),
            "t": draw(st.floats(-1e6, 1e6)),
        }
    else:
        for key in draw(st.sets(st.sampled_from(["ts", "counters", "status", "t", "other"]))):
            if key == "counters":
                doc[key] = draw(
                    st.one_of(
                        st.dictionaries(st.sampled_from(["total", "reject"]), JSON_VALUES),
                        JSON_VALUES,
                    )
                )
            elif key == "ts":
                doc[key] = draw(
                    st.one_of(
                        st.integers(-(2**64), 2**64),
                        st.sampled_from(["2026-01-01T00:00:00Z", "no", True]),
                    )
                )
            else:
                doc[key] = draw(JSON_VALUES)
    return topic, json.dumps(doc).encode()  # big ints and NaN too (orjson refuses both)


@settings(max_examples=300, deadline=None)
@given(burst=st.lists(messages(), min_size=1, max_size=12), level=st.sampled_from([None, 1]))
def test_any_burst_gives_what_one_by_one_gives(
    burst: list[tuple[str, bytes]], level: int | None
) -> None:
    d = burst_decoder(machine_level=level, timestamp_field="ts")
    topics = [t for t, _ in burst]
    payloads = [p for _, p in burst]
    recv = list(range(len(burst)))
    samples, bad, _ = _burst(d, topics, payloads, recv)
    want_samples, want_bad = _one_by_one(d, topics, payloads, recv)
    assert sorted(samples) == sorted(want_samples)  # the same samples (clean ones come first)
    assert bad == want_bad
