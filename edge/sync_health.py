"""The sync and downlink parts of ``/health``, built from the loops' in-memory status. Pure.

Central being unreachable is reported as ``sync.status = "degraded"`` (and a line in the
report's ``warnings``), never as a reason for a 503: the edge keeps sampling, analysing and
queueing facts in its outbox while central is away, which is exactly what it is built for, and
a load balancer or supervisor that restarted an edge on a 503 would make an outage worse.

Error texts come from httpx and the connectors; before they are shown they lose anything
secret: the bearer token (should a reply echo it) and the ``user:password@`` part of URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from edge.api.deps import DownlinkHealthOut, SyncHealthOut
from edge.downlink import DownlinkStatus
from edge.store import OutboxStats
from edge.sync import SyncStatus

MAX_ERROR_CHARS = 300
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without URL credentials and without any of ``secrets``, shortened."""
    clean = _USERINFO.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        if secret:
            clean = clean.replace(secret, "***")
    return clean[:MAX_ERROR_CHARS]


def _at(ts_ns: int | None) -> datetime | None:
    return None if ts_ns is None else datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)


def sync_health(
    status: SyncStatus,
    *,
    central_url: str,
    outbox: OutboxStats | None,
    now_ns: int,
    secrets: Iterable[str | None] = (),
) -> SyncHealthOut:
    """``connected`` once central answered and neither loop has failed since."""
    error = status.push_error or status.pull_error
    contacted = status.last_pull_ok_ns is not None or status.last_push_ok_ns is not None
    connected = error is None and contacted
    oldest = None
    if outbox is not None and outbox.oldest_pending_ns is not None:
        oldest = max(0.0, (now_ns - outbox.oldest_pending_ns) / 1e9)
    hidden = list(secrets)
    return SyncHealthOut(
        status="ok" if connected else "degraded" if error is not None else "starting",
        connected=connected,
        central=redact(central_url),
        last_push_at=_at(status.last_push_ok_ns),
        last_pull_at=_at(status.last_pull_ok_ns),
        backlog=None if outbox is None else outbox.backlog,
        oldest_unacked_age_s=oldest,
        acked_through=status.acked_through,
        dispatch_version=status.dispatch_version,
        refused_records=len(status.poison),
        last_error=None if error is None else redact(error, hidden),
    )


def downlink_health(
    status: DownlinkStatus, machines: Iterable[str], secrets: Iterable[str | None] = ()
) -> list[DownlinkHealthOut]:
    """One entry per machine with a downlink (``order``/``target`` mapped), pending or not."""
    hidden = list(secrets)
    out = []
    for machine in machines:
        pending = status.pending.get(machine)
        error = status.failing.get(machine)
        out.append(
            DownlinkHealthOut(
                machine=machine,
                pending=pending is not None,
                failed=error is not None,
                work_order=None if pending is None else pending.work_order,
                target=None if pending is None else pending.target,
                attempts=0 if pending is None else pending.attempts,
                last_error=None if error is None else redact(error, hidden),
            )
        )
    return out


def warnings(sync: SyncHealthOut | None, downlink: Iterable[DownlinkHealthOut]) -> list[str]:
    """Human lines for the degraded parts that do not make ``/health`` a 503."""
    lines = []
    if sync is not None and sync.status == "degraded":
        lines.append(f"sync: central unreachable ({sync.last_error})")
    for entry in downlink:
        if entry.failed:
            lines.append(f"downlink {entry.machine}: write failing ({entry.last_error})")
    return lines
