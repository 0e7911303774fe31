"""Prometheus metrics of the edge process, in their own registry (no global state).

Counters that the connectors already keep (samples and errors by source and reason) are read at
scrape time by a collector rather than mirrored, so they cannot drift from ``/health``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connectors.base import SourceStatus
from edge.store import OutboxStats


@dataclass(frozen=True, slots=True)
class RuntimeSnapshot:
    sources: tuple[SourceStatus, ...]
    queue_depth: int
    queue_bound: int
    outbox: OutboxStats | None
    store_ok: bool


class _RuntimeCollector(Collector):
    def __init__(self, snapshot: Callable[[], RuntimeSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        snap = self._snapshot()
        yield from _source_metrics(snap.sources)
        depth = GaugeMetricFamily("edge_queue_samples", "Samples held in memory, not yet committed")
        depth.add_metric([], snap.queue_depth)
        yield depth
        bound = GaugeMetricFamily("edge_queue_bound_samples", "Bound of the sample queue")
        bound.add_metric([], snap.queue_bound)
        yield bound
        store = GaugeMetricFamily("edge_store_writable", "1 when the last DuckDB write succeeded")
        store.add_metric([], 1.0 if snap.store_ok else 0.0)
        yield store
        if snap.outbox is not None:
            yield from _outbox_metrics(snap.outbox)


def _source_metrics(sources: tuple[SourceStatus, ...]) -> Iterator[Metric]:
    samples = CounterMetricFamily(
        "edge_samples_in", "Samples received and queued, by source", labels=["source"]
    )
    errors = CounterMetricFamily(
        "edge_source_errors",
        "Bad input and connection errors, by source and reason",
        labels=["source", "reason"],
    )
    connected = GaugeMetricFamily(
        "edge_source_connected", "1 when the source is connected", labels=["source"]
    )
    for status in sources:
        samples.add_metric([status.name], status.samples)
        for reason, n in sorted(status.errors.items()):
            errors.add_metric([status.name, reason], n)
        connected.add_metric([status.name], 1.0 if status.state.value == "connected" else 0.0)
    yield samples
    yield errors
    yield connected


def _outbox_metrics(stats: OutboxStats) -> Iterator[Metric]:
    backlog = GaugeMetricFamily("edge_outbox_backlog", "Outbox records not yet acked by central")
    backlog.add_metric([], stats.backlog)
    yield backlog
    lag = GaugeMetricFamily(
        "edge_outbox_lag_seconds", "Age of the oldest outbox record not yet acked"
    )
    oldest = stats.oldest_pending_ns
    lag.add_metric([], 0.0 if oldest is None else max(0.0, (time.time_ns() - oldest) / 1e9))
    yield lag
    seq = GaugeMetricFamily("edge_outbox_last_seq", "Last outbox seq written")
    seq.add_metric([], stats.last_seq)
    yield seq


class EdgeMetrics:
    """The process's registry: commit timing plus the runtime collector."""

    def __init__(self, snapshot: Callable[[], RuntimeSnapshot]) -> None:
        self.registry = CollectorRegistry()
        self.commit_seconds = Histogram(
            "edge_batch_commit_seconds",
            "Time to commit one batch of samples to DuckDB",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.committed_samples = Gauge(
            "edge_samples_committed",
            "Samples committed to DuckDB since start",
            registry=self.registry,
        )
        self.analytics_seconds = Histogram(
            "edge_analytics_run_seconds",
            "Duration of one incremental analytics run",
            registry=self.registry,
        )
        self.registry.register(_RuntimeCollector(snapshot))

    def on_commit(self, n: int, elapsed_s: float) -> None:
        self.commit_seconds.observe(elapsed_s)
        self.committed_samples.inc(n)
