"""Whatever a YAML file holds, parsing ends in a config or a ConfigError: never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import ConfigError, EdgeConfig, load_config, parse_config
from tests.unit.config.test_config import EXAMPLE, good

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-70000, 70000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["25:00", "mon", "uint32", "coil", "mqtts://h", "0"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            out += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out += paths(child, (*prefix, i))
    return out


PATHS = paths(good())


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3))
def test_any_value_anywhere_gives_a_config_or_named_issues(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    config = good()
    for path, value in changes:
        node: Any = config
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced a parent
    try:
        assert isinstance(parse_config(config), EdgeConfig)
    except ConfigError as error:
        assert error.issues
        for line in error.lines():
            assert "\n" not in line and ": " in line


EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")


@settings(max_examples=120, deadline=None)
@given(
    st.integers(0, len(EXAMPLE_TEXT)),
    st.integers(0, 40),
    st.text(alphabet=":-{}[]#&*!|>'\"%@` \n\tab0123456789.,?", max_size=8),
)
def test_a_damaged_file_gives_a_config_or_named_issues(
    tmp_path_factory: pytest.TempPathFactory, start: int, cut: int, insert: str
) -> None:
    path: Path = tmp_path_factory.mktemp("fuzz") / "edge.yaml"
    path.write_text(EXAMPLE_TEXT[:start] + insert + EXAMPLE_TEXT[start + cut :], encoding="utf-8")
    try:
        assert isinstance(load_config(path), EdgeConfig)
    except ConfigError as error:
        assert error.issues
        assert all("\n" not in line for line in error.lines())
