"""Edge ↔ central sync: push the outbox, pull the dispatch (see ``central.contract``).

:class:`SyncClient` is an async context manager running two loops against ``central.url``:

- **push**: reads unacked outbox rows in seq order (batches of up to ``batch_max``), posts them
  as a :class:`~central.contract.RecordBatch` with the edge's bearer token, and marks them acked
  in the store (through the writer thread) when central answers. Nothing is deleted here: the
  store's retention removes acked rows only. A failed post is retried with capped exponential
  backoff and full jitter; after a restart the loop resumes from the first unacked row, and
  central's ``(edge_id, seq)`` uniqueness turns any resend into a no-op.
- **pull**: long-polls ``GET /dispatch?since=V&wait=S``; a new version is stored in DuckDB
  (``dispatch`` table) and handed to ``on_dispatch`` (order tracking applies it at a safe point).

A ``hello`` record (edge and machine inventory) is written to the outbox on entry, so it
travels in order with everything else.

A record that the contract refuses (locally, or with a 422 from central when sent alone) is a
*poison* record: it is logged once with its seq and reason, counted, skipped, and kept in the
outbox, never acked and never deleted, so a fix can still resend it.

Errors::

    SyncError
    └── CentralRefused    central answered 4xx (token, edge id, contract)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Self

import httpx
from pydantic import ValidationError

from central.contract import MAX_WAIT_S, Dispatch, HelloBody, MachineInfo, Record, RecordBatch
from connectors.backoff import Backoff
from edge.config import CentralSection, EdgeConfig
from edge.logs import event
from edge.store import OutboxRecord, Store
from edge.writer import StoreWriter

logger = logging.getLogger("edge.sync")

DispatchHandler = Callable[[Dispatch], Awaitable[None]]


class SyncError(Exception):
    """Base of the sync errors."""


class CentralRefused(SyncError):
    """Central answered with a 4xx status: retrying the same request alone will not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"central refused ({status}): {detail}")
        self.status = status


@dataclass(slots=True)
class SyncStatus:
    """What the sync loops know; read by tests, metrics and the demo view."""

    pushed: int = 0
    acked_through: int = 0
    batches: int = 0
    push_error: str | None = None
    pull_error: str | None = None
    last_push_ok_ns: int | None = None  # last batch central acknowledged (UTC ns)
    last_pull_ok_ns: int | None = None  # last dispatch poll central answered (200 or 304)
    dispatch_version: int | None = None
    dispatch_received_ns: int | None = None
    poison: dict[int, str] = field(default_factory=dict)


def software_version() -> str | None:
    with contextlib.suppress(PackageNotFoundError):
        return version("atelier")
    return None


def hello_body(config: EdgeConfig) -> HelloBody:
    machines = [
        MachineInfo(
            id=m.id,
            ideal_cycle_s=m.ideal_cycle_s,
            protocol=m.source.protocol,
            name=m.name,
        )
        for m in config.machines
    ]
    return HelloBody(
        software_version=software_version(), timezone=config.edge.timezone, machines=machines
    )


def _write_hello(store: Store, body: dict[str, Any], ts_ns: int) -> int:
    with store.transaction() as tx:
        return tx.outbox("hello", ts_ns, body)


def _pending(store: Store, after_seq: int, limit: int) -> list[OutboxRecord]:
    rows = store.con.execute(
        "SELECT seq, kind, ts_ns, payload FROM outbox WHERE seq > ? AND NOT acked "
        "ORDER BY seq LIMIT ?",
        [after_seq, limit],
    ).fetchall()
    return [OutboxRecord(int(s), str(k), int(t), json.loads(p)) for s, k, t, p in rows]


def _mark_acked(store: Store, acked_through: int, seqs: Sequence[int]) -> None:
    """Every seq ≤ ``acked_through`` is stored at central, and so is every seq of a 200 batch."""
    store.outbox_ack(acked_through)
    if seqs:
        with store.transaction() as tx:
            tx.con.execute(
                "UPDATE outbox SET acked = true WHERE NOT acked AND seq BETWEEN ? AND ? "
                "AND list_contains(?, seq)",
                [min(seqs), max(seqs), list(seqs)],
            )


def to_record(row: OutboxRecord) -> Record:
    """The wire record of an outbox row; ``ValidationError`` when the contract refuses it."""
    ts = datetime.fromtimestamp(row.ts_ns / 1e9, tz=UTC)
    return Record.model_validate({"seq": row.seq, "kind": row.kind, "ts": ts, "body": row.payload})


class SyncClient:
    """Pushes the outbox and pulls the dispatch of one edge; ``async with`` starts both loops."""

    def __init__(
        self,
        config: EdgeConfig,
        writer: StoreWriter,
        *,
        on_dispatch: DispatchHandler | None = None,
        batch_max: int = 500,
        idle_poll_s: float = 0.1,
        wait_s: float = 20.0,
        timeout_s: float = 10.0,
        backoff_cap_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        send_hello: bool = True,
    ) -> None:
        if config.central is None:
            raise SyncError("the edge config has no `central` section")
        self.config = config
        self.central: CentralSection = config.central
        self.status = SyncStatus()
        self._writer = writer
        self._on_dispatch = on_dispatch
        self._batch_max = batch_max
        self._idle_poll_s = idle_poll_s
        self._wait_s = min(wait_s, MAX_WAIT_S)
        self._timeout_s = timeout_s
        self._backoff_cap_s = backoff_cap_s
        self._transport = transport
        self._send_hello = send_hello
        self._client: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._cursor = 0  # highest seq sent with success (or skipped as poison) in this run
        self._edge = config.edge.id

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            base_url=self.central.url.rstrip("/"),
            transport=self._transport,
            timeout=httpx.Timeout(self._timeout_s, read=self._wait_s + self._timeout_s),
        )
        if self._send_hello:
            body = hello_body(self.config).model_dump(mode="json")
            await self._writer.call(_write_hello, body, time.time_ns())
        held = await self._writer.call(Store.latest_dispatch)
        if held is not None:
            self.status.dispatch_version = held[0]
        self._tasks = [
            asyncio.create_task(self.run_push(), name="sync:push"),
            asyncio.create_task(self.run_pull(), name="sync:pull"),
        ]
        event(logger, logging.INFO, "sync started", central=self.central.url, edge=self._edge)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Push now (e.g. right after new outbox rows were committed)."""
        self._wake.set()

    def _headers(self) -> dict[str, str]:
        token = self.central.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise SyncError("sync client is not running")
        return self._client

    # --- push ---------------------------------------------------------------------------------

    async def run_push(self) -> None:
        backoff = Backoff(base_s=0.2, cap_s=self._backoff_cap_s, rng=random.Random())
        while True:
            try:
                sent = await self.push_once()
            except (httpx.HTTPError, SyncError, OSError) as exc:
                self._push_failed(exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            if self.status.push_error is not None:
                event(logger, logging.INFO, "sync push recovered", edge=self._edge)
                self.status.push_error = None
            backoff.reset()
            if sent < self._batch_max:  # caught up: wait for new rows (or a wake-up)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll_s)
                self._wake.clear()

    def _push_failed(self, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if self.status.push_error is None:
            event(logger, logging.WARNING, "sync push failed", edge=self._edge, reason=reason)
        self.status.push_error = reason

    async def push_once(self) -> int:
        """Send one batch of pending records; return how many were sent (0: nothing to do)."""
        rows = await self._writer.call(_pending, self._cursor, self._batch_max)
        if not rows:
            return 0
        records = [r for r in (self._validated(row) for row in rows) if r is not None]
        if not records:
            self._cursor = rows[-1].seq
            return len(rows)
        try:
            acked = await self._post(records)
        except CentralRefused as exc:
            if exc.status != 422:
                raise
            acked = await self._post_one_by_one(records)
        await self._writer.call(_mark_acked, acked, [r.seq for r in records])
        self._cursor = rows[-1].seq
        self.status.pushed += len(records)
        self.status.batches += 1
        self.status.last_push_ok_ns = time.time_ns()
        self.status.acked_through = max(self.status.acked_through, acked)
        return len(rows)

    def _validated(self, row: OutboxRecord) -> Record | None:
        try:
            return to_record(row)
        except ValidationError as exc:
            self._poison(row.seq, f"{row.kind}: {exc.errors()[0]['msg']}")
            return None

    def _poison(self, seq: int, reason: str) -> None:
        if seq not in self.status.poison:
            event(logger, logging.ERROR, "outbox record refused", seq=seq, reason=reason)
        self.status.poison[seq] = reason

    async def _post(self, records: list[Record]) -> int:
        payload = RecordBatch(records=records).model_dump_json()
        response = await self.client.post(
            f"/api/v1/edges/{self._edge}/records",
            content=payload,
            headers={**self._headers(), "Content-Type": "application/json"},
        )
        if 400 <= response.status_code < 500:
            raise CentralRefused(response.status_code, response.text[:300])
        response.raise_for_status()
        return int(response.json()["acked_through"])

    async def _post_one_by_one(self, records: list[Record]) -> int:
        """After a 422 on a batch: find the refused record(s), send every other one."""
        acked = 0
        for record in records:
            try:
                acked = max(acked, await self._post([record]))
            except CentralRefused as exc:
                if exc.status != 422:
                    raise
                self._poison(record.seq, str(exc))
        return acked

    # --- pull ---------------------------------------------------------------------------------

    async def run_pull(self) -> None:
        backoff = Backoff(base_s=0.2, cap_s=self._backoff_cap_s, rng=random.Random())
        while True:
            try:
                await self.pull_once()
            except (httpx.HTTPError, SyncError, OSError, ValidationError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if self.status.pull_error is None:
                    event(logger, logging.WARNING, "dispatch pull failed", reason=reason)
                self.status.pull_error = reason
                await asyncio.sleep(backoff.next_delay())
                continue
            if self.status.pull_error is not None:
                event(logger, logging.INFO, "dispatch pull recovered", edge=self._edge)
                self.status.pull_error = None
            backoff.reset()

    async def pull_once(self) -> Dispatch | None:
        """One long-poll; a new dispatch is stored, handed on and returned (None on 304)."""
        params: dict[str, Any] = {}
        if self.status.dispatch_version is not None:
            params = {"since": self.status.dispatch_version, "wait": self._wait_s}
        response = await self.client.get(
            f"/api/v1/edges/{self._edge}/dispatch", params=params, headers=self._headers()
        )
        if response.status_code == 304:
            self.status.last_pull_ok_ns = time.time_ns()
            return None
        if 400 <= response.status_code < 500:
            raise CentralRefused(response.status_code, response.text[:300])
        response.raise_for_status()
        self.status.last_pull_ok_ns = time.time_ns()
        dispatch = Dispatch.model_validate_json(response.content)
        received = time.time_ns()
        await self._writer.call(
            Store.save_dispatch,
            version=dispatch.version,
            received_ns=received,
            body=dispatch.model_dump(mode="json"),
        )
        self.status.dispatch_version = dispatch.version
        self.status.dispatch_received_ns = received
        if self._on_dispatch is not None:
            await self._on_dispatch(dispatch)
        return dispatch
