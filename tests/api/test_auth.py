"""Specification of signing in (POST /auth/token) and of the bearer token on protected endpoints."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.directory import users
from engine.directory.users import User
from tests.api.conftest import API
from tests.conftest import DEMO_PASSWORD

PROTECTED = f"{API}/agencies"  # any staff endpoint


def sign_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> Any:
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def with_claims(token: str, **changes: Any) -> str:
    """The token with its claims changed but its signature kept (what a forger would try)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


# Signing in -------------------------------------------------------------------


def test_a_user_signs_in_with_username_and_password_and_gets_a_bearer_token(client: FlaskClient) -> None:
    answer = sign_in(client, "dlh")
    assert answer.status_code == 200
    assert answer.json["token_type"] == "Bearer"
    assert answer.json["expires_in"] == 3600
    assert set(answer.json) == {"access_token", "token_type", "expires_in"}
    assert client.get(PROTECTED, headers=bearer(answer.json["access_token"])).status_code == 200


def test_a_wrong_password_is_401(client: FlaskClient) -> None:
    answer = sign_in(client, "dlh", "not-the-password")
    assert answer.status_code == 401
    assert answer.json["message"] == "wrong username or password"
    assert "access_token" not in answer.json


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client: FlaskClient) -> None:
    unknown, wrong = sign_in(client, "nobody"), sign_in(client, "dlh", "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json


@pytest.mark.parametrize("missing", ["username", "password"])
def test_signing_in_without_a_field_is_422_naming_it(client: FlaskClient, missing: str) -> None:
    body = {"username": "dlh", "password": DEMO_PASSWORD}
    del body[missing]
    answer = client.post(f"{API}/auth/token", json=body)
    assert answer.status_code == 422
    assert missing in answer.json["errors"]


def test_signing_in_with_an_unknown_field_is_422_naming_it(client: FlaskClient) -> None:
    answer = client.post(f"{API}/auth/token", json={"username": "dlh", "password": DEMO_PASSWORD, "role": "admin"})
    assert answer.status_code == 422
    assert "role" in answer.json["errors"]


def test_a_deactivated_user_cannot_sign_in(client: FlaskClient, session: Session) -> None:
    session.get_one(User, "dlh").active = False
    session.commit()
    assert sign_in(client, "dlh").status_code == 401


# The token on protected endpoints -----------------------------------------------


def test_no_token_on_a_staff_endpoint_is_401_with_a_bearer_challenge(client: FlaskClient) -> None:
    answer = client.get(PROTECTED)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(answer.json) >= {"code", "status", "message"}


def test_a_token_is_accepted_until_it_expires(client: FlaskClient) -> None:
    token = sign_in(client, "dlh").json
    with time_machine.travel(utcnow() + timedelta(seconds=token["expires_in"] - 5), tick=False):
        assert client.get(PROTECTED, headers=bearer(token["access_token"])).status_code == 200


def test_an_expired_token_is_401(client: FlaskClient) -> None:
    token = sign_in(client, "dlh").json
    with time_machine.travel(utcnow() + timedelta(seconds=token["expires_in"] + 1), tick=False):
        answer = client.get(PROTECTED, headers=bearer(token["access_token"]))
    assert answer.status_code == 401
    assert answer.json["message"] == "token expired"


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer a.b.c", "Bearer ", "Basic ZGxoOnJhaGFzaWE=", "dlh"],
    ids=["garbage", "three-dots", "empty", "basic", "no-scheme"],
)
def test_a_malformed_authorization_header_is_401(client: FlaskClient, header: str) -> None:
    answer = client.get(PROTECTED, headers={"Authorization": header})
    assert answer.status_code == 401


def test_a_token_whose_claims_were_changed_is_401(client: FlaskClient) -> None:
    token = sign_in(client, "dlh").json["access_token"]
    answer = client.get(PROTECTED, headers=bearer(with_claims(token, sub="admin", role="admin")))
    assert answer.status_code == 401
    assert answer.json["message"] == "invalid token"


def test_a_token_signed_with_another_key_is_401(client: FlaskClient) -> None:
    forged = jwt.encode({"sub": "admin", "role": "admin", "exp": utcnow() + timedelta(hours=1)}, "x" * 32)
    assert client.get(PROTECTED, headers=bearer(forged)).status_code == 401


def test_a_deactivated_users_token_is_401(client: FlaskClient, session: Session) -> None:
    token = sign_in(client, "dlh").json["access_token"]
    session.get_one(User, "dlh").active = False
    session.commit()
    answer = client.get(PROTECTED, headers=bearer(token))
    assert answer.status_code == 401
    assert answer.json["message"] == "token no longer valid"


def test_a_token_issued_before_a_role_change_is_401(client: FlaskClient, session: Session) -> None:
    token = sign_in(client, "dlh").json["access_token"]
    session.get_one(User, "dlh").role = "admin"
    session.commit()
    assert client.get(f"{API}/users", headers=bearer(token)).status_code == 401


def test_a_signed_in_reporter_is_403_on_a_staff_endpoint(client: FlaskClient, session: Session) -> None:
    users.create_user(session, "warga", "reporter", DEMO_PASSWORD)
    session.commit()
    answer = client.get(PROTECTED, headers=bearer(sign_in(client, "warga").json["access_token"]))
    assert answer.status_code == 403
    assert answer.json["message"] == "the reporter role may not do this"


def test_each_request_is_judged_by_its_own_token(client: FlaskClient, auth: Callable[[str], dict[str, str]]) -> None:
    """The requests of one test share an app context (and `g`); the caller is still read from each request."""
    assert client.get(f"{API}/users", headers=auth("admin")).status_code == 200
    assert client.post(f"{API}/agencies", headers=auth("dlh"), json={"code": "x", "name": "X"}).status_code == 403


def test_sign_in_attempts_are_rate_limited(app: Flask, client: FlaskClient) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "3/minute"
    wrong = {"username": "dlh", "password": "guess-guess"}
    codes = [client.post(f"{API}/auth/token", json=wrong).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
