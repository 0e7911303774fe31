from __future__ import annotations

import random

from connectors.backoff import Backoff


def test_full_jitter_stays_under_a_doubling_capped_ceiling() -> None:
    b = Backoff(base_s=0.5, cap_s=4.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(10)]
    ceilings = [min(4.0, 0.5 * 2**i) for i in range(10)]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[5:]) > 2.0  # jitter spreads over the whole capped range
    assert b.ceiling(1000) == 4.0  # no overflow on long outages


def test_seeded_delays_are_reproducible_and_reset_restarts() -> None:
    a = Backoff(rng=random.Random(7))
    b = Backoff(rng=random.Random(7))
    assert [a.next_delay() for _ in range(5)] == [b.next_delay() for _ in range(5)]
    a.reset()
    assert a.attempt == 0
    assert a.next_delay() <= a.base_s
