"""Rate limits when their shared storage (Redis) is down: each process gets its share, not the whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from api import create_app
from api.extensions import divided, limiter
from tests.conftest import DEMO_PASSWORD, seeded
from tests.workers.conftest import DOWN_REDIS_URL

API = "/api/v1"


def test_a_limit_divided_among_processes_keeps_at_least_one_each() -> None:
    assert divided("20/minute", 4) == "5 per 1 minute"
    assert divided("20/minute;300/day", 4) == "5 per 1 minute;75 per 1 day"
    assert divided("3/hour", 8) == "1 per 1 hour"


@pytest.fixture
def outage_app(backend: str) -> Iterator[Flask]:
    """An API process of four whose rate-limit storage is a Redis that does not answer."""
    config = {"SQLALCHEMY_DATABASE_URI": backend, "TESTING": True, "RATELIMIT_STORAGE_URI": DOWN_REDIS_URL}
    app = create_app({**config, "API_WORKERS": 4, "LOGIN_RATE_LIMIT": "8/minute"})
    with seeded(app):
        yield app


def test_with_redis_down_each_process_allows_its_share_of_the_login_limit(outage_app: Flask) -> None:
    client = outage_app.test_client()
    answers = []
    for _ in range(4):  # the limit is 8 for the deployment: 2 for each of 4 processes
        body = {"username": "verifier", "password": DEMO_PASSWORD}
        answers.append(client.post(f"{API}/auth/token", json=body).status_code)
    assert limiter.storage_down
    assert answers == [200, 200, 429, 429]
