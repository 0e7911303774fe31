"""Central API fixtures: every test runs on SQLite and on the real PostgreSQL.

``backend_url`` is a session fixture parametrized over both backends: SQLite in a temporary
file, PostgreSQL in a fresh uniquely named database created for the session and dropped after
it (``ATELIER_TEST_PG_URL``; skip on a dev machine / fail in CI when unset). The schema comes
from the Alembic migrations; each test starts from empty tables.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from central.app import create_app
from central.db.engine import make_engine, make_sessionmaker
from central.db.migrate import migrate
from central.db.tables import Base
from central.security import create_token
from central.settings import CentralSettings
from tests.support.services import PG_URL, free_port, unavailable

EDGE = "edge-a"
OTHER_EDGE = "edge-b"


def _pg_admin_dsn(url: str) -> str:
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('central') / 'central.db'}"
        migrate(url)
        yield url
        return
    if not PG_URL:
        unavailable("ATELIER_TEST_PG_URL is not set (PostgreSQL tests)")
    name = f"atelier_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_dsn(PG_URL)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {PG_URL} unreachable: {exc}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(backend_url: str) -> Iterator[Engine]:
    eng = make_engine(backend_url)
    yield eng
    eng.dispose()


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:  # DELETE beats TRUNCATE on a handful of rows
        for name in tables:
            conn.execute(text(f"DELETE FROM {name}"))


@dataclass(frozen=True)
class Tokens:
    admin: str
    planner: str
    viewer: str
    edge: str
    other_edge: str

    def header(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    _empty(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def tokens(sessions: sessionmaker[Session]) -> Tokens:
    with sessions() as s:
        return Tokens(
            admin=create_token(session=s, name="admin", role="admin", edge_id=None),
            planner=create_token(session=s, name="planner", role="planner", edge_id=None),
            viewer=create_token(session=s, name="viewer", role="viewer", edge_id=None),
            edge=create_token(session=s, name="edge", role="edge", edge_id=EDGE),
            other_edge=create_token(session=s, name="edge b", role="edge", edge_id=OTHER_EDGE),
        )


@pytest.fixture
def settings(backend_url: str) -> CentralSettings:
    return CentralSettings(
        database_url=backend_url, jobs_enabled=False, dispatch_poll_s=0.2, token_cache_s=0
    )


@pytest.fixture
async def app(settings: CentralSettings, tokens: Tokens) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://central") as c:
        yield c


@pytest.fixture
def planner(tokens: Tokens) -> dict[str, str]:
    return tokens.header("planner")


@pytest.fixture
def edge_auth(tokens: Tokens) -> dict[str, str]:
    return tokens.header("edge")


class LiveServer:
    """The app served by a real uvicorn on a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live(settings: CentralSettings, tokens: Tokens) -> Iterator[LiveServer]:
    with LiveServer(create_app(settings)) as server:
        yield server
