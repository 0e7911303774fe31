from __future__ import annotations

from connectors import sparkplug_b_pb2 as pb
from connectors.base import MachineState, Sample
from connectors.sparkplug import REBIRTH_METRIC, SparkplugDecoder, rebirth_request
from connectors.values import ValueMap, state_codes

METRICS = {
    "count": ("count", ValueMap()),
    "state": (
        "state",
        ValueMap(states=state_codes({"1": "running", "3": "fault"}, signal="state")),
    ),
    "temp": ("temp", ValueMap()),
}


def payload(seq: int | None, metrics: list[dict[str, object]], ts: int = 1000) -> bytes:
    p = pb.Payload(timestamp=ts)
    if seq is not None:
        p.seq = seq
    for m in metrics:
        p.metrics.add(**m)  # type: ignore[arg-type]
    return p.SerializeToString()


def born() -> SparkplugDecoder:
    d = SparkplugDecoder("press", METRICS, machine_level=4)
    d.decode(
        "spBv1.0/g/NBIRTH/n1", payload(0, [{"name": "bdSeq", "datatype": 8, "long_value": 3}]), 1
    )
    d.decode(
        "spBv1.0/g/DBIRTH/n1/press-01",
        payload(
            1,
            [
                {"name": "count", "alias": 1, "datatype": 7, "int_value": 5},
                {"name": "state", "alias": 2, "datatype": 3, "int_value": 1},
                {"name": "temp", "alias": 3, "datatype": 2, "int_value": 0xFFFE},  # Int16 -2
            ],
        ),
        1,
    )
    return d


def test_births_then_data_by_alias() -> None:
    d = born()
    data = d.decode(
        "spBv1.0/g/DDATA/n1/press-01",
        payload(2, [{"alias": 1, "int_value": 6, "timestamp": 2000}, {"alias": 2, "int_value": 3}]),
        9,
    )
    assert data.bad == [] and data.rebirth is None
    assert data.samples == [
        Sample(2_000_000_000, "press-01", "count", 6.0),
        Sample(1_000_000_000, "press-01", "state", float(MachineState.fault)),
    ]


def test_dbirth_values_and_signed_integers() -> None:
    d = SparkplugDecoder("press", METRICS, machine_level=None)
    d.decode("spBv1.0/g/NBIRTH/n1", payload(0, []), 1)
    out = d.decode(
        "spBv1.0/g/DBIRTH/n1/dev",
        payload(1, [{"name": "temp", "alias": 3, "datatype": 2, "int_value": 0xFFFE}]),
        1,
    )
    assert out.samples == [Sample(1_000_000_000, "press", "temp", -2.0)]


def test_seq_gap_unknown_alias_and_unborn_node_ask_for_rebirth() -> None:
    d = born()
    gap = d.decode("spBv1.0/g/DDATA/n1/press-01", payload(5, [{"alias": 1, "int_value": 7}]), 1)
    assert gap.rebirth == ("g", "n1") and [b.reason for b in gap.bad] == ["seq_gap"]
    assert [s.value for s in gap.samples] == [7.0]  # the data itself is still good
    alias = d.decode("spBv1.0/g/DDATA/n1/press-01", payload(6, [{"alias": 99, "int_value": 1}]), 1)
    assert alias.rebirth == ("g", "n1") and [b.reason for b in alias.bad] == ["unknown_alias"]
    unborn = d.decode("spBv1.0/g/DDATA/n2/x", payload(0, [{"alias": 1, "int_value": 1}]), 1)
    assert unborn.rebirth == ("g", "n2")
    wrapped = born()
    for seq in range(2, 256):
        wrapped.decode("spBv1.0/g/NDATA/n1", payload(seq, []), 1)
    assert wrapped.decode("spBv1.0/g/NDATA/n1", payload(0, []), 1).rebirth is None


def test_deaths_set_machines_offline_and_stale_ndeath_is_ignored() -> None:
    d = born()
    stale = d.decode(
        "spBv1.0/g/NDEATH/n1", payload(None, [{"name": "bdSeq", "datatype": 8, "long_value": 2}]), 5
    )
    assert stale.samples == []
    death = d.decode(
        "spBv1.0/g/NDEATH/n1", payload(None, [{"name": "bdSeq", "datatype": 8, "long_value": 3}]), 5
    )
    assert death.samples == [Sample(5, "press-01", "state", float(MachineState.offline))]
    ddeath = born().decode("spBv1.0/g/DDEATH/n1/press-01", payload(2, []), 6)
    assert ddeath.samples == [Sample(6, "press-01", "state", float(MachineState.offline))]


def test_malformed_protobuf_and_commands_ignored() -> None:
    d = born()
    assert d.decode("spBv1.0/g/NCMD/n1", b"\xff", 1).samples == []
    try:
        d.decode("spBv1.0/g/DDATA/n1/press-01", b"\xff\xff\xff", 1)
    except Exception as exc:
        assert getattr(exc, "reason", None) == "malformed_protobuf"
    else:
        raise AssertionError("malformed payload accepted")


def test_rebirth_request() -> None:
    topic, raw = rebirth_request("g", "n1", 123)
    assert topic == "spBv1.0/g/NCMD/n1"
    (metric,) = pb.Payload.FromString(raw).metrics
    assert (metric.name, metric.datatype, metric.boolean_value) == (REBIRTH_METRIC, 11, True)
