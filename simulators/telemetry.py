"""JSON telemetry of the simulated MQTT machines, and the bad messages used for fault injection.

Payload: ``{"ts": <epoch ms>, "counters": {"total": N, "reject": R}, "status": "RUN", "state": 1,
"order": "WO-1", "target": 0}`` (``ts`` is the time of the last event the values reflect).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Literal

from simulators.layout import DEFAULT_STATE_CODES, DEFAULT_STATUS_TEXT, MqttLayout
from simulators.machine import MachineModel

FaultKind = Literal["malformed", "wrong_type", "oversized"]
OVERSIZED_BYTES = 512 * 1024


def snapshot(model: MachineModel, layout: MqttLayout | None, ts_ns: int) -> dict[str, Any]:
    status = (layout.status_text if layout else DEFAULT_STATUS_TEXT).get(model.state, "UNKNOWN")
    codes = layout.state_codes if layout else DEFAULT_STATE_CODES
    return {
        "ts": ts_ns // 1_000_000,
        "counters": {"total": model.wire_count, "reject": model.truth.reject},
        "status": status,
        "state": codes.get(model.state, 0),
        "order": model.order,
        "target": model.target,
    }


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def bad_payload(kind: FaultKind, message: dict[str, Any]) -> bytes:
    """A deliberately broken variant of ``message``."""
    if kind == "malformed":
        return encode(message)[:-7]  # truncated: not JSON any more
    if kind == "wrong_type":
        broken = dict(message, counters={"total": "many", "reject": None}, status=7)
        return encode(broken)
    return encode(dict(message, padding="x" * OVERSIZED_BYTES))


@dataclass(frozen=True)
class MqttFaults:
    """Shares (0..1) of the messages preceded by a bad one of each kind."""

    malformed_share: float = 0.0
    wrong_type_share: float = 0.0
    oversized_share: float = 0.0

    def draw(self, rng: random.Random) -> FaultKind | None:
        x = rng.random()
        for kind, share in (
            ("malformed", self.malformed_share),
            ("wrong_type", self.wrong_type_share),
            ("oversized", self.oversized_share),
        ):
            if x < share:
                return kind  # type: ignore[return-value]
            x -= share
        return None
