"""The page session: cookie settings that take effect, revocation on sign-out, and per-account throttling."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api import create_app
from engine.db import utcnow
from engine.directory import signin
from engine.directory.signin import AccountEvent
from tests.conftest import DEMO_PASSWORD
from tests.engine.conftest import MONDAY_9AM
from tests.web.test_pages import csrf, sign_in


@pytest.fixture
def client(app: Flask, demo_directory: None) -> FlaskClient:
    return app.test_client()


def session_cookie_header(client: FlaskClient, base_url: str = "http://localhost") -> str:
    token = csrf(client)
    data = {"csrf_token": token, "username": "verifier", "password": DEMO_PASSWORD}
    answer = client.post("/masuk", data=data, base_url=base_url, headers={"Referer": f"{base_url}/masuk"})
    assert answer.status_code == 302
    return next(v for k, v in answer.headers.items() if k == "Set-Cookie" and v.startswith("session="))


def test_the_session_cookie_is_lax_http_only_and_lasts_eight_hours(client: FlaskClient) -> None:
    cookie = session_cookie_header(client)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert abs((expires - utcnow()).total_seconds() - 8 * 3600) < 60
    assert "Secure" not in cookie  # plain http://127.0.0.1: the embedded default still works


def test_behind_https_the_cookie_is_secure_unless_configured_otherwise(app: Flask, client: FlaskClient) -> None:
    assert "; Secure" in session_cookie_header(client, "https://localhost")
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "; Secure" in session_cookie_header(client)


def test_session_cookie_secure_comes_from_the_environment(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")
    assert create_app({"SQLALCHEMY_DATABASE_URI": backend}).config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert create_app({"SQLALCHEMY_DATABASE_URI": backend}).config["SESSION_COOKIE_SECURE"] is True


def test_a_copied_cookie_stops_working_once_its_session_signs_out(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "verifier")
    copy = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert copy.get("/kotak-masuk").status_code == 200
    client.post("/keluar", data={"csrf_token": csrf(client, "/kotak-masuk")})
    assert copy.get("/kotak-masuk").status_code == 302  # back to the login page


def test_a_session_ends_on_the_server_after_eight_hours(client: FlaskClient, session: Session) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False) as clock:
        sign_in(client, "verifier")
        clock.shift(timedelta(hours=7, minutes=59))
        assert client.get("/kotak-masuk").status_code == 200
        clock.shift(timedelta(minutes=2))
        assert client.get("/kotak-masuk").status_code == 302


def wrong(client: FlaskClient, username: str = "verifier") -> tuple[int, str]:
    answer = client.post("/masuk", data={"csrf_token": csrf(client), "username": username, "password": "salah-salah"})
    return answer.status_code, answer.text


def test_failed_sign_ins_on_the_page_earn_growing_delays_then_a_lock_that_is_told_and_audited(
    client: FlaskClient, session: Session
) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False) as clock:
        for _ in range(signin.FREE_FAILURES):
            assert wrong(client)[0] == 401
        status, text = wrong(client)
        assert status == 429 and "Tunggu 1 detik" in text
        for failures in range(signin.FREE_FAILURES, signin.LOCK_AFTER):
            clock.shift(timedelta(seconds=signin.delay_after(failures)))
            assert wrong(client)[0] == 401
        status, text = wrong(client)
        assert status == 429 and "dikunci sampai" in text
        events = session.scalars(sa.select(AccountEvent).where(AccountEvent.username == "verifier")).all()
        assert [e.type for e in events] == ["account_locked"]
        data = {"csrf_token": csrf(client), "username": "verifier", "password": DEMO_PASSWORD}
        assert client.post("/masuk", data=data).status_code == 429  # even the right password, while locked
        clock.shift(timedelta(seconds=signin.LOCK_SECONDS + 1))
        assert client.post("/masuk", data=data).status_code == 302
