"""HTTP fixtures: a test client on the demo directory and bearer headers for each demo user."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import DEMO_PASSWORD

API = "/api/v1"


@pytest.fixture
def client(app: Flask, demo_directory: None) -> FlaskClient:
    return app.test_client()


class Auth:
    """`auth("dlh")` → the Authorization header of that demo user; `auth.forget()` after travelling in time."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def __call__(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.client.post(f"{API}/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert answer.status_code == 200, answer.json
            self.tokens[username] = answer.json["access_token"]  # type: ignore[index]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def forget(self) -> None:
        self.tokens.clear()


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)
