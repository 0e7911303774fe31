"""Sparkplug B encoder: births with aliases, alias-only DDATA, seq wrap, bdSeq."""

from __future__ import annotations

from simulators.sparkplug import METRICS, SparkplugNode
from simulators.sparkplug_proto import Payload

VALUES = {"count": 5, "reject": 1, "good": 4, "state": 1, "order": "WO-1", "target": 0}


def test_births_declare_names_aliases_and_types() -> None:
    node = SparkplugNode("g", "n")
    nbirth = Payload.FromString(node.node_birth(1000))
    assert nbirth.seq == 0 and nbirth.timestamp == 1000
    assert {m.name for m in nbirth.metrics} == {"bdSeq", "Node Control/Rebirth"}
    dbirth = Payload.FromString(node.device_birth("d1", VALUES, 1001))
    assert dbirth.seq == 1
    declared = {m.name: (m.alias, m.datatype) for m in dbirth.metrics}
    assert declared == dict(METRICS)
    by_name = {m.name: m for m in dbirth.metrics}
    assert by_name["count"].long_value == 5 and by_name["order"].string_value == "WO-1"
    assert node.topic("DBIRTH", "d1") == "spBv1.0/g/DBIRTH/n/d1"


def test_ddata_sends_changed_metrics_by_alias_only() -> None:
    node = SparkplugNode("g", "n")
    node.node_birth(0)
    node.device_birth("d1", VALUES, 0)
    assert node.device_data("d1", VALUES, 5) is None
    data = Payload.FromString(node.device_data("d1", dict(VALUES, count=6, good=5), 10) or b"")
    assert [(m.name, m.alias, m.long_value) for m in data.metrics] == [("", 1, 6), ("", 3, 5)]


def test_seq_wraps_after_255_and_rebirth_resets_it() -> None:
    node = SparkplugNode("g", "n")
    node.node_birth(0)
    node.device_birth("d1", VALUES, 0)
    seqs = []
    for i in range(300):
        payload = node.device_data("d1", dict(VALUES, count=100 + i), i)
        assert payload is not None
        seqs.append(Payload.FromString(payload).seq)
    assert seqs[253:256] == [255, 0, 1]
    assert Payload.FromString(node.node_birth(1)).seq == 0


def test_bdseq_matches_between_birth_and_death_and_advances_per_session() -> None:
    node = SparkplugNode("g", "n")

    def bd(payload: bytes) -> int:
        return next(m.long_value for m in Payload.FromString(payload).metrics if m.name == "bdSeq")

    assert bd(node.death()) == bd(node.node_birth(0)) == 0
    node.next_connection()
    assert bd(node.death()) == bd(node.node_birth(0)) == 1


def test_rebirth_request_is_recognised() -> None:
    cmd = Payload()
    cmd.metrics.add(name="Node Control/Rebirth", datatype=11, boolean_value=True)
    assert SparkplugNode.is_rebirth_request(cmd.SerializeToString())
    assert not SparkplugNode.is_rebirth_request(Payload().SerializeToString())
