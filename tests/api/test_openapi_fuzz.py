"""schemathesis against the generated OpenAPI document: no 5xx, and every response matches its schema.

Every operation is fuzzed anonymously and as each kind of caller: a registered reporter, a verifier (the
widest task scope of the demo), an officer, an auditor and an admin. `ADUAN_FUZZ_EXAMPLES` sets the
examples per operation and caller (20 by default: a bounded run for CI; raise it for a longer run).
The operations are driven one by one with hypothesis (schemathesis' pytest plugin cannot take the
per-backend `app` fixture here).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from engine.directory import users
from tests.api.conftest import Auth
from tests.conftest import DEMO_PASSWORD

EXAMPLES = int(os.environ.get("ADUAN_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def operations(app: Flask) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


# The checks: no 5xx, documented status codes and content types, bodies matching their schemas.
# (positive_data_acceptance is left out on purpose: the API rightly refuses some schema-valid data for
# domain reasons — an unknown agency, a duplicate code, a NUL character — with a documented 4xx.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz(operation: Any, headers: dict[str, str]) -> None:
    @FUZZ
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("user", [None, "pelapor", "verifier", "dlh", "auditor", "admin"])
def test_every_operation_answers_as_documented(
    app: Flask, client: FlaskClient, session: Session, auth: Auth, user: str | None
) -> None:
    users.create_user(session, "pelapor", "reporter", DEMO_PASSWORD)  # a registered reporter
    session.commit()
    headers = auth(user) if user else {}
    ops = operations(app)
    assert len(ops) >= 15
    for operation in ops:
        fuzz(operation, headers)
