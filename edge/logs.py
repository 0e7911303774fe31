"""Structured logging for the edge process: one line per event, plain text or JSON.

Library code logs with ``logging.getLogger(__name__).info("event", extra={"fields": {...}})``
(or :func:`event`), never with f-strings carrying secrets; this module only formats.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

_FIELDS = "fields"


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log one event ``name`` with structured key/value ``fields``."""
    logger.log(level, name, extra={_FIELDS: fields})


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    value = getattr(record, _FIELDS, None)
    return value if isinstance(value, Mapping) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC ISO 8601), level, logger, event, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(_fields(record))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``2026-01-01T10:00:00Z INFO edge.agent event key=value ...`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        pairs = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{ts}Z {record.levelname} {record.name} {record.getMessage()}"
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def setup_logging(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    """Route every logger of the process to stderr, one line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would add one line per HTTP request; errors still go through.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # A job run skipped because the previous one still runs is by design (max_instances=1).
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
