"""Capped exponential backoff with full jitter (AWS architecture blog's "Full Jitter").

Pure: the random source is passed in, so tests are deterministic. Delays are in seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """``next_delay()``: uniform(0, min(cap_s, base_s * 2**attempt)); ``reset()`` on success."""

    base_s: float = 0.2
    cap_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def ceiling(self, attempt: int) -> float:
        # min() before the power would overflow for long outages: cap the exponent instead.
        return min(self.cap_s, self.base_s * 2.0 ** min(attempt, 62))

    def next_delay(self) -> float:
        delay = self.rng.uniform(0.0, self.ceiling(self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
