"""Schemathesis over the OpenAPI schema: whatever it sends, the service never answers 5xx.

Every operation gets a few generated requests (valid ones, then invalid ones), sent to the
ASGI app in-process with an admin token (the edge's own token on the sync routes). Bounded to
a handful of examples per operation so it runs in well under a minute per backend.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from starlette.exceptions import StarletteDeprecationWarning

from central.app import create_app
from central.settings import CentralSettings
from tests.integration.central.conftest import Tokens

with warnings.catch_warnings():
    # schemathesis' ASGI transport is starlette's TestClient, which warns once at import that
    # it prefers httpx2; the warning is about packaging, not about this code.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES = 4


def test_no_server_error(settings: CentralSettings, tokens: Tokens) -> None:
    app = create_app(settings)
    with TestClient(app):  # runs the lifespan: database and notifier ready
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures: list[str] = []
        codes: list[int] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 30
        for operation in operations:
            auth = tokens.header("edge" if "/edges/" in operation.path else "admin")
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # Unsatisfiable: no invalid input exists for this operation (no parameters)
                with contextlib.suppress(Unsatisfiable):
                    _fuzz(operation, mode, auth, failures, codes)
    # the token worked: many generated requests went through to the services
    assert sum(200 <= c < 300 for c in codes) > 30, codes
    assert not failures, "\n".join(failures[:20])


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    auth: dict[str, str],
    failures: list[str],
    codes: list[int],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def run(case: Any) -> None:
        response = case.call(headers=auth)
        codes.append(response.status_code)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError as exc:  # schemathesis' failures subclass AssertionError
            failures.append(f"{case.method} {case.formatted_path}: {exc}")

    run()
