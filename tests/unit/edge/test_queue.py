"""The bounded sample queue: back-pressure, never a drop; the bound covers uncommitted batches."""

from __future__ import annotations

import asyncio

from connectors.base import Batch, Sample
from edge.runtime.queue import SampleQueue


def _batch(n: int) -> Batch:
    return Batch(tuple(Sample(i, "m", "count", float(i)) for i in range(n)))


async def test_put_waits_until_taken_batches_are_released() -> None:
    q = SampleQueue(max_samples=10)
    await q.put("s", _batch(6))
    blocked = asyncio.create_task(q.put("s", _batch(6)))
    await asyncio.sleep(0.01)
    assert not blocked.done()  # 6 + 6 > 10: the connector waits
    taken = await q.take(max_samples=100, linger_s=0)
    await asyncio.sleep(0.01)
    assert not blocked.done()  # taken but not committed: still held, still counted
    assert q.depth == 6
    await q.release(taken)
    await asyncio.wait_for(blocked, 1)
    assert (q.depth, q.queued) == (6, 6)


async def test_an_oversized_batch_is_admitted_when_empty() -> None:
    q = SampleQueue(max_samples=5)
    await asyncio.wait_for(q.put("s", _batch(8)), 1)
    assert q.depth == 8


async def test_take_respects_its_size_and_order() -> None:
    q = SampleQueue(max_samples=100)
    for n in (3, 4, 5):
        await q.put(f"s{n}", _batch(n))
    first = await q.take(max_samples=7, linger_s=0)
    assert [i.source for i in first] == ["s3", "s4"]
    second = await q.take(max_samples=7, linger_s=0)
    assert [i.source for i in second] == ["s5"]
    await q.release(first + second)
    await asyncio.wait_for(q.wait_empty(), 1)
