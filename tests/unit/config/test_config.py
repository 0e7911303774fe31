"""Edge config: the example file, the semantic rules, and one error per bad config at its path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any

import pydantic
import pytest

from edge.config import (
    ConfigError,
    EdgeConfig,
    ModbusSignal,
    ModbusSource,
    MqttSource,
    OpcUaSource,
    load_config,
    parse_config,
)
from edge.tablet.auth import verify_secret

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "config" / "edge.yaml"


def good() -> dict[str, Any]:
    """A small valid config as YAML would load it: one machine per protocol."""
    return {
        "edge": {"id": "cell-1", "data_dir": "./data", "timezone": "Europe/Paris"},
        "central": {"url": "http://127.0.0.1:8000", "token_env": "ATELIER_EDGE_TOKEN"},
        "shifts": [
            {
                "name": "morning",
                "start": "06:00",
                "end": "14:00",
                "breaks": [{"start": "09:00", "minutes": 15}, {"start": "11:30", "minutes": 30}],
            }
        ],
        "defaults": {"stop_threshold_s": 300, "slow_factor": 2.0},
        "machines": [
            {
                "id": "press-01",
                "ideal_cycle_s": 1.0,
                "source": {
                    "protocol": "opcua",
                    "endpoint": "opc.tcp://127.0.0.1:4840",
                    "signals": {
                        "count": {"node": "ns=2;s=Press01.Count"},
                        "state": {"node": "ns=2;s=Press01.State", "states": {1: "running"}},
                    },
                },
            },
            {
                "id": "lathe-02",
                "ideal_cycle_s": 4.0,
                "source": {
                    "protocol": "modbus",
                    "host": "127.0.0.1",
                    "port": 5020,
                    "poll_ms": 250,
                    "signals": {
                        "count": {"address": 0, "type": "uint32"},
                        "reject": {"address": 2, "type": "uint16"},
                    },
                },
            },
            {
                "id": "oven-03",
                "ideal_cycle_s": 30,
                "source": {
                    "protocol": "mqtt",
                    "url": "mqtt://127.0.0.1:1883",
                    "topic": "plant/oven-03/telemetry",
                    "signals": {"count": {"field": "counters.total"}},
                },
            },
        ],
    }


def setter(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``value`` at ``path`` in the config dict."""

    def apply(config: dict[str, Any]) -> None:
        node: Any = config
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
        node[path[-1]] = value

    return apply


def deleter(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        node: Any = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


M = ("machines",)
OPC, MODBUS, MQTT = (*M, 0, "source"), (*M, 1, "source"), (*M, 2, "source")

# (id, mutation, exact path of the issue, text the message must contain: the bad value)
BAD: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "modbus type",
        setter(*MODBUS, "signals", "count", "type", value="uint33"),
        "machines[1].source.signals.count.type",
        "'uint33'",
    ),
    ("duplicate machine id", setter(*M, 1, "id", value="press-01"), "machines[1].id", "'press-01'"),
    (
        "unknown timezone",
        setter("edge", "timezone", value="Europe/Pariss"),
        "edge.timezone",
        "'Europe/Pariss'",
    ),
    (
        "timezone is a region",
        setter("edge", "timezone", value="Europe"),
        "edge.timezone",
        "'Europe'",
    ),
    ("shift time 25:00", setter("shifts", 0, "start", value="25:00"), "shifts[0].start", "'25:00'"),
    (
        "break outside shift",
        setter("shifts", 0, "breaks", 1, "start", value="13:45"),
        "shifts[0].breaks[1].start",
        "'13:45'",
    ),
    (
        "overlapping breaks",
        setter("shifts", 0, "breaks", 1, "start", value="09:10"),
        "shifts[0].breaks[1].start",
        "'09:10'",
    ),
    (
        "non-canonical state",
        setter(*OPC, "signals", "state", "states", value={3: "broken"}),
        "machines[0].source.signals.state.states.3",
        "'broken'",
    ),
    (
        "modbus address range",
        setter(*MODBUS, "signals", "reject", "address", value=70000),
        "machines[1].source.signals.reject.address",
        "70000",
    ),
    (
        "uint32 past 65535",
        setter(*MODBUS, "signals", "count", "address", value=65535),
        "machines[1].source.signals.count.address",
        "65535",
    ),
    (
        "bool on a register",
        setter(*MODBUS, "signals", "door", value={"address": 7, "type": "bool"}),
        "machines[1].source.signals.door.type",
        "'bool'",
    ),
    (
        "uint16 on a coil",
        setter(*MODBUS, "signals", "door", value={"address": 7, "table": "coil", "type": "uint16"}),
        "machines[1].source.signals.door.type",
        "'uint16'",
    ),
    (
        "opc.tcp scheme",
        setter(*OPC, "endpoint", value="http://127.0.0.1:4840"),
        "machines[0].source.endpoint",
        "'http://127.0.0.1:4840'",
    ),
    (
        "mqtt scheme",
        setter(*MQTT, "url", value="tcp://127.0.0.1:1883"),
        "machines[2].source.url",
        "'tcp://127.0.0.1:1883'",
    ),
    (
        "central scheme",
        setter("central", "url", value="ftp://central"),
        "central.url",
        "'ftp://central'",
    ),
    (
        "ideal cycle zero",
        setter(*M, 0, "ideal_cycle_s", value=0),
        "machines[0].ideal_cycle_s",
        "has value 0.",
    ),
    (
        "ideal cycle negative",
        setter(*M, 2, "ideal_cycle_s", value=-3),
        "machines[2].ideal_cycle_s",
        "-3",
    ),
    (
        "quality name",
        setter(*MQTT, "signals", "quality.", value={"field": "q"}),
        "machines[2].source.signals.quality.",
        "'quality.'",
    ),
    (
        "quality nested name",
        setter(*MQTT, "signals", "quality.a.b", value={"field": "q"}),
        "machines[2].source.signals.quality.a.b",
        "'quality.a.b'",
    ),
    (
        "no count or cycle",
        setter(*MQTT, "signals", value={"reject": {"field": "r"}}),
        "machines[2].source.signals",
        "reject",
    ),
    (
        "mqtt topic",
        setter(*MQTT, "topic", value="plant/#/x"),
        "machines[2].source.topic",
        "'plant/#/x'",
    ),
    (
        "opc node id",
        setter(*OPC, "signals", "count", "node", value="Press01.Count"),
        "machines[0].source.signals.count.node",
        "'Press01.Count'",
    ),
    ("typo key", setter(*MODBUS, "poll_msec", value=250), "machines[1].source.poll_msec", "250"),
    (
        "unknown protocol",
        setter(*OPC, "protocol", value="profinet"),
        "machines[0].source.protocol",
        "'profinet'",
    ),
    (
        "bad day",
        setter("shifts", 0, "days", value=["mon", "funday"]),
        "shifts[0].days[1]",
        "'funday'",
    ),
    (
        "no micro-stop band",
        setter(*M, 1, "stop_threshold_s", value=5),
        "machines[1].stop_threshold_s",
        "has value 5.",
    ),
    (
        "defaults not a number",
        setter("defaults", "slow_factor", value="fast"),
        "defaults.slow_factor",
        "'fast'",
    ),
    (
        "env var name",
        setter("central", "token_env", value="MY-TOKEN"),
        "central.token_env",
        "'MY-TOKEN'",
    ),
    ("api port", setter("edge", "api", value={"port": 99999}), "edge.api.port", "99999"),
    ("edge id with space", setter("edge", "id", value="cell 1"), "edge.id", "'cell 1'"),
    (
        "states on count",
        setter(*OPC, "signals", "count", "states", value={1: "running"}),
        "machines[0].source.signals.count.states",
        "'count'",
    ),
    (
        "machine level",
        setter(*MQTT, "machine_level", value=3),
        "machines[2].source.machine_level",
        "3",
    ),
    ("qos 2", setter(*MQTT, "qos", value=2), "machines[2].source.qos", "has value 2."),
    ("unknown section", setter("plant", value={"x": 1}), "plant", "{'x': 1}"),
    (
        "word order",
        setter(*MODBUS, "signals", "count", "word_order", value="middle"),
        "machines[1].source.signals.count.word_order",
        "'middle'",
    ),
    (
        "break minutes",
        setter("shifts", 0, "breaks", 0, "minutes", value=0),
        "shifts[0].breaks[0].minutes",
        "has value 0.",
    ),
    (
        "duplicate shift",
        lambda c: c["shifts"].append({"name": "morning", "start": "14:00", "end": "22:00"}),
        "shifts[1].name",
        "'morning'",
    ),
    (
        "states keys collide",
        setter(*OPC, "signals", "state", "states", value={1: "running", "1": "stopped"}),
        "machines[0].source.signals.state.states",
        "has keys 1 and '1'",
    ),
    (
        "signal name with a space",
        setter(*MQTT, "signals", "oven temp", value={"field": "t"}),
        "machines[2].source.signals['oven temp']",
        "'oven temp'",
    ),
    (
        "signal not a mapping",
        setter(*OPC, "signals", "count", value="ns=2;s=X"),
        "machines[0].source.signals.count",
        "has value 'ns=2;s=X'. Must be a mapping",
    ),
    ("data_dir not a path", setter("edge", "data_dir", value=5), "edge.data_dir", "Must be a path"),
    (
        "opcua security incomplete",
        setter(*OPC, "security", value={"policy": "Basic256Sha256"}),
        "machines[0].source.security.certificate",
        "Basic256Sha256",
    ),
]


def issues_of(config: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_config(config)
    return {issue.path: issue.message for issue in info.value.issues}


@pytest.mark.parametrize(("mutate", "path", "shown"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_config_names_the_path_and_value(
    mutate: Callable[[dict[str, Any]], None], path: str, shown: str
) -> None:
    config = good()
    mutate(config)
    issues = issues_of(config)
    assert path in issues, issues
    assert shown in issues[path]


def test_the_good_config_is_good() -> None:
    assert isinstance(parse_config(good()), EdgeConfig)


def test_missing_keys_are_required() -> None:
    config = good()
    deleter("edge", "id")(config)
    deleter(*OPC, "endpoint")(config)
    deleter(*M, 2, "source", "protocol")(config)
    issues = issues_of(config)
    assert issues["edge.id"] == "is required"
    assert issues["machines[0].source.endpoint"] == "is required"
    assert "opcua, modbus or mqtt" in issues["machines[2].source.protocol"]


def test_every_error_is_reported_at_once() -> None:
    config = good()
    chosen = [
        "modbus type",
        "duplicate machine id",
        "unknown timezone",
        "shift time 25:00",
        "non-canonical state",
        "modbus address range",
        "ideal cycle zero",
        "central scheme",
        "mqtt topic",
        "typo key",
    ]
    cases = [c for c in BAD if c[0] in chosen]
    for _, mutate, _, _ in cases:
        mutate(config)
    issues = issues_of(config)
    assert {path for _, _, path, _ in cases} <= set(issues)
    assert len(cases) == len(chosen)


def test_duplicate_ids_are_reported_even_when_a_machine_is_invalid() -> None:
    config = good()
    setter(*M, 2, "id", value="press-01")(config)
    setter(*M, 1, "ideal_cycle_s", value=-1)(config)
    issues = issues_of(config)
    assert "already used by machines[0]" in issues["machines[2].id"]
    assert "machines[1].ideal_cycle_s" in issues


def test_a_typo_suggests_the_known_key() -> None:
    config = good()
    setter(*MODBUS, "poll_msec", value=250)(config)
    assert "Did you mean 'poll_ms'?" in issues_of(config)["machines[1].source.poll_msec"]


@pytest.mark.parametrize(
    ("where", "key"),
    [(("central",), "token"), (MQTT, "password"), ((*OPC, "security"), "password")],
)
def test_a_literal_secret_is_refused_without_echoing_it(where: tuple[Any, ...], key: str) -> None:
    config = good()
    setter(*where, key, value="hunter2-secret")(config)
    with pytest.raises(ConfigError) as info:
        parse_config(config)
    path = ".".join(str(p) for p in where).replace(".0.", "[0].").replace(".2.", "[2].")
    (issue,) = [i for i in info.value.issues if i.path == f"{path}.{key}"]
    assert f"{key}_env" in issue.message
    assert "hunter2-secret" not in str(info.value)


def test_defaults_are_resolved_per_machine() -> None:
    config = good()
    config["defaults"] = {"stop_threshold_s": 120, "slow_factor": 1.5}
    config["machines"][1]["stop_threshold_s"] = 600
    parsed = parse_config(config)
    assert [m.stop_threshold_s for m in parsed.machines] == [120, 600, 120]
    assert [m.slow_factor for m in parsed.machines] == [1.5, 1.5, 1.5]
    without = good()
    del without["defaults"]
    assert parse_config(without).machines[0].stop_threshold_s == 300


def test_the_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(EXAMPLE)
    assert [m.id for m in config.machines] == ["press-01", "lathe-02", "oven-03"]
    press, lathe, oven = config.machines
    assert isinstance(press.source, OpcUaSource)
    assert isinstance(lathe.source, ModbusSource)
    assert isinstance(oven.source, MqttSource)
    assert press.source.endpoint == "opc.tcp://127.0.0.1:4840"
    assert press.source.signals["state"].states == {
        "1": "running",
        "2": "stopped",
        "3": "fault",
        "4": "setup",
        "5": "idle",
    }
    assert {"order", "target"} <= set(press.source.signals) & set(lathe.source.signals)
    assert (lathe.source.port, lathe.source.unit, lathe.source.poll_ms) == (5020, 1, 250)
    assert lathe.counter_width_bits == 32 and press.counter_width_bits is None
    assert oven.source.topic == "plant/oven-03/telemetry" and oven.source.tls is False
    assert oven.source.signals["state"].states is not None
    assert oven.source.signals["state"].states["ALARM"] == "fault"
    assert [m.ideal_cycle_s for m in config.machines] == [1.0, 4.0, 30]
    assert config.edge.tz.key == "Europe/Paris"
    night = next(s for s in config.shifts if s.name == "night")
    assert night.crosses_midnight and night.length_s == 8 * 3600
    assert [s.name for s in config.shifts] == ["morning", "afternoon", "night"]
    pin_hash = config.operators[0].pin_hash
    assert pin_hash is not None and verify_secret("1234", pin_hash)  # the demo PIN, salted
    assert config.central is not None
    monkeypatch.setenv("ATELIER_EDGE_TOKEN", "t0k3n")
    assert config.central.token() == "t0k3n"
    monkeypatch.delenv("ATELIER_EDGE_TOKEN")
    assert config.central.token() is None


def test_models_are_frozen() -> None:
    config = parse_config(good())
    with pytest.raises(pydantic.ValidationError):
        config.machines[0].ideal_cycle_s = 2.0


def test_yaml_is_read_as_yaml_1_2(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('start: "14:00"', "start: 14:00").replace('end: "22:00"', "end: 22:00")
    text = text.replace("{RUN: running,", "{ON: running, OFF: stopped, RUN: running,")
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    afternoon = config.shifts[1]
    assert (afternoon.start, afternoon.end) == (time(14), time(22))  # not base-60 numbers
    states = config.machines[2].source.signals["state"].states
    assert states is not None and states["ON"] == "running" and states["OFF"] == "stopped"


def test_shift_details() -> None:
    config = good()
    config["shifts"] = [
        {"name": "late", "start": "18:00", "end": "24:00", "days": ["mon", "Tuesday", 6]}
    ]
    (late,) = parse_config(config).shifts
    assert late.end == time(0) and late.days == (0, 1, 6) and late.length_s == 6 * 3600
    config["shifts"] = [
        {
            "name": "night",
            "start": "22:00",
            "end": "06:00",
            "breaks": [{"start": "23:30", "minutes": 15}, {"start": "02:00", "minutes": 30}],
        },
    ]
    (night,) = parse_config(config).shifts
    assert night.offset_s(time(2)) == 4 * 3600 and night.days == tuple(range(7))
    assert night.crosses_midnight and late.crosses_midnight  # 24:00 is 00:00 the next day
    config["shifts"][0]["breaks"] = [{"start": "05:50", "minutes": 15}]
    assert "not inside the shift 22:00-06:00" in issues_of(config)["shifts[0].breaks[0].start"]


def shift(name: str, start: str, end: str, *days: str) -> dict[str, Any]:
    return {"name": name, "start": start, "end": end, **({"days": list(days)} if days else {})}


@pytest.mark.parametrize(
    ("shifts", "day"),
    [
        ([shift("morning", "06:00", "14:00"), shift("long", "12:00", "20:00")], "mon"),
        ([shift("night", "22:00", "06:00"), shift("early", "05:00", "13:00")], "mon"),
        ([shift("night", "22:00", "06:00", "sun"), shift("early", "05:00", "13:00", "mon")], "mon"),
        ([shift("a", "06:00", "14:00", "sat"), shift("b", "08:00", "09:00", "sun", "sat")], "sat"),
    ],
    ids=["same day", "after midnight", "across the week end", "one common day"],
)
def test_overlapping_shifts_are_refused(shifts: list[dict[str, Any]], day: str) -> None:
    config = good()
    config["shifts"] = shifts
    message = issues_of(config)["shifts[1].start"]
    assert f"'{shifts[1]['start']}'" in message and f"starting {day}" in message
    assert f"overlaps shift {shifts[0]['name']!r}" in message


def test_adjacent_shifts_are_fine() -> None:
    config = good()
    config["shifts"] = [
        shift("night", "22:00", "06:00", "sun", "mon", "tue", "wed", "thu"),
        shift("morning", "06:00", "14:00"),
        shift("afternoon", "14:00", "22:00"),
        shift("weekend", "22:00", "06:00", "fri", "sat"),
    ]
    assert len(parse_config(config).shifts) == 4


def test_coils_default_to_bool() -> None:
    config = good()
    config["machines"][1]["source"]["signals"]["cycle"] = {"address": 3, "table": "coil"}
    signal = parse_config(config).machines[1].source.signals["cycle"]
    assert isinstance(signal, ModbusSignal) and signal.type == "bool"


def test_mqtts_implies_tls() -> None:
    config = good()
    config["machines"][2]["source"]["url"] = "mqtts://broker.example:8883"
    source = parse_config(config).machines[2].source
    assert isinstance(source, MqttSource) and source.tls is True


def test_tablet_sections_default_and_validate() -> None:
    config = parse_config(good())
    codes = [r.code for c in config.stop_reasons for r in c.reasons]
    assert "mechanical" in codes and len(codes) == len(set(codes))
    assert config.scrap_reasons and config.operators == ()
    bad = good()
    bad["stop_reasons"] = [
        {"code": "a", "labels": {"en": "A"}, "reasons": [{"code": "x", "labels": {"en": "X"}}]},
        {"code": "b", "labels": {"en": "B"}, "reasons": [{"code": "x", "labels": {"en": "Y"}}]},
    ]
    bad["operators"] = [
        {"id": "op-1", "name": "Ann", "pin_sha256": "1234"},
        {"id": "op-2", "name": "Bob"},
    ]
    issues = issues_of(bad)
    assert "already used by stop_reasons[0].reasons[0]" in issues["stop_reasons[1].reasons[0].code"]
    assert "SHA-256" in issues["operators[0].pin_sha256"] and "1234" not in str(issues)
    assert "neither pin_hash, pin_sha256 nor badge" in issues["operators[1]"]


def test_badges_are_unique_and_not_shown() -> None:
    config = good()
    config["operators"] = [
        {"id": "op-1", "name": "Ann", "badge": "B-77"},
        {"id": "op-2", "name": "Bob", "pin_sha256": "0" * 64},
        {"id": "op-3", "name": "Cid", "badge": "B-77"},
    ]
    issues = issues_of(config)
    assert issues["operators[2].badge"] == "is already the badge of operators[0]"
    assert "B-77" not in str(issues)


def test_a_literal_pin_is_refused_without_echoing_it() -> None:
    config = good()
    config["operators"] = [{"id": "op-1", "name": "Ann", "pin": "4321"}]
    message = issues_of(config)["operators[0].pin"]
    assert "pin_hash" in message and "hash-pin" in message and "4321" not in message


def test_operator_repr_hides_credentials() -> None:
    config = load_config(EXAMPLE)
    pin_hash = config.operators[0].pin_hash
    assert pin_hash is not None
    assert pin_hash not in repr(config) and pin_hash.split("$")[-1] not in repr(config)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(["edge"])  # type: ignore[arg-type]
    assert info.value.issues[0].path == "" and "['edge']" in info.value.issues[0].message


def test_an_empty_machine_list_is_an_error() -> None:
    config = good()
    config["machines"] = []
    assert "at least one machine" in issues_of(config)["machines"]


def test_original_data_is_not_modified() -> None:
    config = good()
    snapshot = copy.deepcopy(config)
    parse_config(config)
    assert config == snapshot
