"""Central ingest: records/s and batch latency for concurrent edges, beside the bare driver.

For each backend (SQLite file, PostgreSQL when reachable) this starts ``atelier-central run
--workers 2`` (one listening socket per worker), lets 50 edges post 500-record batches of
production records concurrently (each batch a real idempotent ingest: record log, work-order
progress, stock), and prints records/s with p50/p99 batch latency and how the edges'
connections were shared between the workers. The ceiling beside it is
the same records inserted as rows (edge, seq, kind, ts, received_at, body; primary key edge
and seq) through the bare driver's ``executemany`` (sqlite3 / psycopg, 500 rows per
transaction, 2 connections for PostgreSQL) — what storing each record costs with no HTTP, no
validation, no effects. Central's record log keeps a row per batch and per run of seqs, not
per record (``central.services.ingest``), so the ingest can pass this ceiling.

``python -m bench.central_ingest [--smoke] [--backend sqlite|postgresql] [--edges N] ...``
Target: ≥ 50,000 records/s on PostgreSQL, and ≥ 40 % of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import psycopg
from sqlalchemy.engine import make_url

from central.contract import ProductionBody, Record, RecordBatch
from central.db.engine import make_engine, make_sessionmaker
from central.db.migrate import migrate
from central.db.tables import Item, Machine, WorkOrder
from central.security import create_token

PG_URL = os.environ.get(
    "ATELIER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
JSON = {"Content-Type": "application/json"}
T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    backend: str
    records: int
    seconds: float
    latencies_s: list[float]
    ceiling_per_s: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    def pct(self, q: float) -> float:
        lat = sorted(self.latencies_s)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000


def _backends_cpu_s(database: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database``, by pid (none for SQLite)."""
    if database is None:
        return {}
    out = {}
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and cmdline[0].startswith("postgres:") and f" {database} " in cmdline[0]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
    return out


def _edge(i: int) -> str:
    return f"bench-{i:02d}"


def _batches(edge: int, batches: int, size: int) -> list[bytes]:
    """Production deltas of one edge's machine for its work order, seqs 1.. contiguous."""
    out = []
    for b in range(batches):
        records = []
        for k in range(size):
            seq = b * size + k + 1
            start = T0 + timedelta(seconds=seq)
            body = ProductionBody(
                work_order=f"WO-{edge:02d}",
                machine=f"m-{edge:02d}",
                good=1,
                scrap=0,
                period_start=start,
                period_end=start + timedelta(seconds=1),
            )
            records.append(Record(seq=seq, kind="production", ts=start, body=body))
        out.append(RecordBatch(records=records).model_dump_json().encode())
    return out


def _prepare(url: str, edges: int) -> list[str]:
    migrate(url)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        tokens = []
        with sessions() as s:
            s.add(Item(code="PART", name="Part", uom="pcs", kind="finished"))
            s.commit()
            for i in range(edges):
                tokens.append(create_token(session=s, name=_edge(i), role="edge", edge_id=_edge(i)))
                s.add(Machine(id=f"m-{i:02d}", edge_id=_edge(i), ideal_cycle_s=1.0))
                s.flush()
                s.add(
                    WorkOrder(
                        number=f"WO-{i:02d}",
                        item="PART",
                        qty=10**9,
                        machine=f"m-{i:02d}",
                        status="released",
                        created_at=T0,
                    )
                )
            s.commit()
        return tokens
    finally:
        engine.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``atelier-central run --workers N`` as a subprocess: the launcher an operator uses (one
    SO_REUSEPORT listening socket per worker on Linux, central.serve). The schema is
    migrated by :func:`_prepare`, hence ``--no-migrate``."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "ATELIER_CENTRAL_DATABASE_URL": url,
            "ATELIER_CENTRAL_JOBS_ENABLED": "false",
            "ATELIER_CENTRAL_TOKEN_CACHE_S": "60",
            "ATELIER_CENTRAL_POOL_SIZE": "30",
            "ATELIER_CENTRAL_LOG_LEVEL": "WARNING",  # no access log line per batch
        }
        script = Path(sys.executable).with_name("atelier-central")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "central.cli"]
        cmd += ["run", "--port", str(self.port), "--workers", str(workers), "--no-migrate"]
        self.proc = subprocess.Popen(cmd, env=env)

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("central did not start")

    def connections_per_worker(self) -> list[int]:
        """Established connections on the port held by each worker process (from the kernel)."""
        counts = []
        for child in psutil.Process(self.proc.pid).children():
            held = [c for c in child.net_connections(kind="tcp") if c.laddr.port == self.port]
            if held:
                counts.append(sum(c.status == psutil.CONN_ESTABLISHED for c in held))
        return sorted(counts)

    def workers_cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the worker processes."""
        total = 0.0
        for child in psutil.Process(self.proc.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = child.cpu_times()
                total += t.user + t.system
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _post_all(
    server: Server, tokens: list[str], bodies: list[list[bytes]], database: str | None
) -> tuple[float, list[float]]:
    """Each edge posts its batches one after the other over its own client and connection,
    as a real edge does (one ``httpx.AsyncClient`` in its sync loop). One client shared by
    all edges would measure httpcore's pool instead: it hands an idle connection to every
    queued request at once, all but one retry and wait for the next, and measured batches
    waited up to 4-7 s there before being sent (trace: time before the first httpcore event).
    """
    latencies: list[float] = []
    resent = 0
    split: list[int] = []
    answered_once: set[int] = set()

    async def post(c: httpx.AsyncClient, url: str, body: bytes) -> httpx.Response:
        nonlocal resent
        try:
            return await c.post(url, content=body, headers=JSON)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # The server closed the kept-alive connection as the client reused it (uvicorn's
            # 5 s keep-alive): an edge resends the batch, a no-op if it was stored. Counted;
            # the latency includes both attempts.
            resent += 1
            return await c.post(url, content=body, headers=JSON)

    async def edge(i: int, c: httpx.AsyncClient) -> None:
        url = f"/api/v1/edges/{_edge(i)}/records"
        for body in bodies[i]:
            t = time.perf_counter()
            r = await post(c, url, body)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:200]}")
            answered_once.add(i)
            if len(answered_once) == len(tokens) and not split:
                split[:] = server.connections_per_worker()  # every edge connected

    async with contextlib.AsyncExitStack() as stack:
        # made before the clock starts: each client builds an SSL context (~30 ms of CPU)
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{server.port}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=120,
                )
            )
            for token in tokens
        ]
        workers_cpu, db_cpu = server.workers_cpu_s(), _backends_cpu_s(database)
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(edge(i, c) for i, c in enumerate(clients)))
        wall = time.perf_counter() - start
        workers_cpu = server.workers_cpu_s() - workers_cpu
        db_after = _backends_cpu_s(database)
    db = sum(t - db_cpu.get(pid, 0.0) for pid, t in db_after.items())
    print(
        f"   CPU: workers {workers_cpu:.1f} s"
        + (f", PostgreSQL backends {db:.1f} s" if database else "")
        + f", client {time.process_time() - cpu:.1f} s; load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"   {wall:.1f} s wall,"
        f" {resent} batches resent after a closed keep-alive connection,"
        f" edges' connections per worker {'/'.join(map(str, split))}"
    )
    return wall, latencies


Row = tuple[str, int, str, datetime, datetime, str]


def _ceiling_rows(batches: int, size: int, edges: int) -> list[list[Row]]:
    now = datetime.now(UTC)
    body = '{"work_order":"WO-00","machine":"m-00","good":1,"scrap":0}'
    return [
        [(f"ceil-{e}", b * size + k + 1, "production", now, now, body) for k in range(size)]
        for e in range(edges)
        for b in range(batches)
    ]


CEILING_TABLE = (
    "CREATE TABLE ceiling_rows (edge_id varchar(200), seq bigint, kind varchar(20),"
    " ts timestamp, received_at timestamp, body text, PRIMARY KEY (edge_id, seq))"
)


def _ceiling_sqlite(path: Path, chunks: list[list[Row]]) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(CEILING_TABLE)
    sql = (
        "INSERT INTO ceiling_rows (edge_id, seq, kind, ts, received_at, body) VALUES (?,?,?,?,?,?)"
    )
    rows = [[(e, s, k, t.isoformat(), r.isoformat(), b) for e, s, k, t, r, b in c] for c in chunks]
    start = time.perf_counter()
    for chunk in rows:
        con.execute("BEGIN")
        con.executemany(sql, chunk)
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return sum(len(c) for c in chunks) / elapsed


def _ceiling_pg(dsn: str, chunks: list[list[Row]], connections: int = 2) -> float:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(CEILING_TABLE.replace("timestamp,", "timestamptz,"))
    sql = (
        "INSERT INTO ceiling_rows (edge_id, seq, kind, ts, received_at, body)"
        " VALUES (%s,%s,%s,%s,%s,%s)"
    )

    def work(part: list[list[Row]]) -> None:
        with psycopg.connect(dsn) as con:
            for chunk in part:
                with con.cursor() as cur:
                    cur.executemany(sql, chunk)
                con.commit()

    threads = [
        threading.Thread(target=work, args=(chunks[i::connections],)) for i in range(connections)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(len(c) for c in chunks) / (time.perf_counter() - start)


def run_backend(
    name: str, url: str, args: argparse.Namespace, ceiling: object, database: str | None = None
) -> Result:
    tokens = _prepare(url, args.edges)
    bodies = [_batches(i, args.batches, args.size) for i in range(args.edges)]
    server = Server(url, args.workers)
    try:
        server.wait()
        seconds, latencies = asyncio.run(_post_all(server, tokens, bodies, database))
    finally:
        server.stop()
    chunks = _ceiling_rows(args.batches, args.size, args.edges)
    assert callable(ceiling)
    return Result(name, args.edges * args.batches * args.size, seconds, latencies, ceiling(chunks))


def _pg_database() -> tuple[str, str, str] | None:
    """(sqlalchemy url, psycopg dsn, name) of a fresh database, or None when unreachable."""
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"atelier_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"-- PostgreSQL unreachable ({exc.__class__.__name__}): skipped")
        return None
    url = make_url(PG_URL).set(database=name)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return url.render_as_string(hide_password=False), dsn, name


def _drop_pg(name: str) -> None:
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.central_ingest")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--edges", type=int, default=50)
    parser.add_argument("--batches", type=int, default=10, help="batches per edge")
    parser.add_argument("--size", type=int, default=500, help="records per batch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], help="default: both")
    args = parser.parse_args(argv)
    if args.smoke:
        args.edges, args.batches, args.size = 4, 2, 100
    print(
        f"{args.edges} edges x {args.batches} batches x {args.size} production records, "
        f"{args.workers} uvicorn workers"
    )
    results: list[Result] = []
    if args.backend in (None, "sqlite"):
        results.append(_sqlite(args))
    if args.backend in (None, "postgresql") and (pg := _postgresql(args)) is not None:
        results.append(pg)
    _print(results)
    return 0


def _sqlite(args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "central.db"
        return run_backend(
            "sqlite", f"sqlite:///{path}", args, lambda chunks: _ceiling_sqlite(path, chunks)
        )


def _postgresql(args: argparse.Namespace) -> Result | None:
    pg = _pg_database()
    if pg is None:
        return None
    url, dsn, name = pg
    try:
        return run_backend(
            "postgresql", url, args, lambda chunks: _ceiling_pg(dsn, chunks), database=name
        )
    finally:
        _drop_pg(name)


def _print(results: list[Result]) -> None:
    print(
        f"\n{'backend':<11}{'records':>9}{'rec/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'ceiling rec/s':>15}{'of ceiling':>12}"
    )
    for r in results:
        print(
            f"{r.backend:<11}{r.records:>9}{r.rate:>10.0f}{r.pct(0.5):>9.1f}{r.pct(0.99):>9.1f}"
            f"{r.ceiling_per_s:>15.0f}{r.rate / r.ceiling_per_s:>12.0%}"
        )
    medians = [round(statistics.median(r.latencies_s) * 1000, 1) for r in results]
    print(f"(median batch latency per backend: {medians} ms)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
