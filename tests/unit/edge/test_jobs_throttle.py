"""A job that held the writer for d seconds skips its turns for the next 3·d seconds."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import edge.jobs
from edge.jobs import MAX_WRITER_SHARE, EdgeJobs
from edge.runtime.analysis import Calendar
from edge.runtime.incremental import IncrementalAnalytics
from edge.store import Store
from edge.writer import StoreWriter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_a_long_run_leaves_the_writer_to_ingest_for_three_times_as_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(edge.jobs.time, "monotonic", clock.monotonic)
    jobs = EdgeJobs(
        StoreWriter(Store(tmp_path)),
        IncrementalAnalytics({}),
        {},
        Calendar((), ZoneInfo("UTC")),
        retention_days=7,
    )
    runs: list[float] = []

    async def report() -> None:
        runs.append(clock.now)
        clock.now += 2.0  # this run kept the writer for 2 s

    guarded = jobs._guarded(report)
    await guarded()  # runs at 1000, ends at 1002
    assert MAX_WRITER_SHARE == 0.25
    for at in (1002.0, 1005.0, 1007.9):  # 3 x 2 s after its end: skipped
        clock.now = at
        await guarded()
    assert runs == [1000.0]
    clock.now = 1008.0
    await guarded()
    assert runs == [1000.0, 1008.0]
    assert jobs._running == 0
