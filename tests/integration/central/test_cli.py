"""``atelier-central migrate`` and ``create-token`` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from central.cli import main
from central.db.engine import make_engine, make_sessionmaker
from central.db.tables import ApiToken, Edge
from central.security import hash_token, lookup_token

pytestmark = pytest.mark.integration


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
