"""One line per event; ``--log-json`` gives one JSON object per line with the event's fields."""

from __future__ import annotations

import json
import logging

import pytest

from edge.logs import JsonFormatter, TextFormatter, event


def _record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    caplog.set_level(logging.INFO)
    event(logging.getLogger("edge.test"), logging.WARNING, "store unavailable", held=3, why="full")
    return caplog.records[-1]


def test_json_lines(caplog: pytest.LogCaptureFixture) -> None:
    line = JsonFormatter().format(_record(caplog))
    assert "\n" not in line
    data = json.loads(line)
    assert data["event"] == "store unavailable"
    assert (data["level"], data["logger"], data["held"], data["why"]) == (
        "warning",
        "edge.test",
        3,
        "full",
    )
    assert data["ts"].endswith("Z")


def test_text_lines(caplog: pytest.LogCaptureFixture) -> None:
    line = TextFormatter().format(_record(caplog))
    assert line.endswith("WARNING edge.test store unavailable held=3 why=full")
