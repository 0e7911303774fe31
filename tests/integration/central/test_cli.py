"""``atelier-central migrate`` and ``create-token`` against a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from central.cli import main
from central.db.engine import make_engine, make_sessionmaker
from central.db.tables import ApiToken, Edge
from central.security import hash_token, lookup_token
from tests.support.services import free_port

pytestmark = pytest.mark.integration
CONFIG = Path(__file__).resolve().parents[3] / "config" / "central.yaml"


def test_migrate_and_create_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.setenv("ATELIER_CENTRAL_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0  # idempotent
    assert (
        main(["create-token", "--role", "edge", "--name", "cell 1", "--edge", "lyon-cell-1"]) == 0
    )
    token = capsys.readouterr().out.strip().splitlines()[-1]
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            principal = lookup_token(session, token)
            assert principal is not None
            assert (principal.role.value, principal.edge_id) == ("edge", "lyon-cell-1")
            stored = session.scalars(select(ApiToken.token_hash)).all()
            assert stored == [hash_token(token)]  # only the hash is at rest
            assert session.get(Edge, "lyon-cell-1") is not None
    finally:
        engine.dispose()
    assert main(["create-token", "--role", "viewer", "--name", "x", "--edge", "e"]) == 2


def test_run_serves_with_the_example_config(tmp_path: Path) -> None:
    """``atelier-central --config config/central.yaml run``: migrates, serves, jobs running."""
    port = free_port()
    script = Path(sys.executable).with_name("atelier-central")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "central.cli"]
    env = {**os.environ, "ATELIER_CENTRAL_PORT": str(port), "ATELIER_CENTRAL_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [*cmd, "--config", str(CONFIG), "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "central did not start"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/items").status_code == 401
        assert (tmp_path / "central.db").exists()  # the config's relative SQLite path
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()
