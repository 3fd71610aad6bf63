"""schemathesis against the generated OpenAPI document: no 5xx, and every response matches its schema.

Every operation is fuzzed anonymously and as a signed-in verifier (the widest task scope of the demo).
The operations are driven one by one with hypothesis (schemathesis' pytest plugin cannot take the
per-backend `app` fixture here).
"""

from __future__ import annotations

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

from tests.api.conftest import Auth

FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)


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


@pytest.mark.parametrize("user", [None, "verifier"])
def test_every_operation_answers_as_documented(app: Flask, client: FlaskClient, auth: Auth, user: str | None) -> None:
    app.config["INTAKE_RATE_LIMIT"] = "100000/minute"
    headers = auth(user) if user else {}
    ops = operations(app)
    assert len(ops) >= 15
    for operation in ops:
        fuzz(operation, headers)
