"""HTTP fixtures: a test client on the demo directory and bearer headers for each demo user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import DEMO_PASSWORD

API = "/api/v1"


@pytest.fixture
def client(app: Flask, demo_directory: None) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """`auth("dlh")` → the Authorization header of that demo user (tokens cached per test)."""
    tokens: dict[str, str] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in tokens:
            answer = client.post(f"{API}/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert answer.status_code == 200, answer.json
            tokens[username] = answer.json["access_token"]  # type: ignore[index]
        return {"Authorization": f"Bearer {tokens[username]}"}

    return headers
