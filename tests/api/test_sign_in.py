"""Signing in to the API: tokens must expire; per-account throttling; bounded password hashing."""

from __future__ import annotations

import threading
from datetime import timedelta

import jwt
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from engine.db import utcnow
from engine.directory import signin
from engine.errors import Throttled
from tests.api.conftest import API
from tests.conftest import DEMO_PASSWORD
from tests.engine.conftest import MONDAY_9AM


def test_a_token_without_an_expiry_is_refused(app: Flask, client: FlaskClient) -> None:
    claims = {"sub": "verifier", "role": "verifier", "iat": utcnow()}
    forever = jwt.encode(claims, app.config["SECRET_KEY"], algorithm="HS256")
    answer = client.get(f"{API}/tasks", headers={"Authorization": f"Bearer {forever}"})
    assert answer.status_code == 401
    expiring = jwt.encode({**claims, "exp": utcnow() + timedelta(minutes=5)}, app.config["SECRET_KEY"], "HS256")
    assert client.get(f"{API}/tasks", headers={"Authorization": f"Bearer {expiring}"}).status_code == 200


def login(client: FlaskClient, password: str, username: str = "dlh") -> tuple[int, dict[str, object], str]:
    answer = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    return answer.status_code, answer.json or {}, answer.headers.get("Retry-After", "")


def test_failed_sign_ins_earn_growing_delays_then_a_temporary_lock(client: FlaskClient) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False) as clock:
        for _ in range(signin.FREE_FAILURES):
            assert login(client, "salah-salah")[0] == 401
        status, body, retry = login(client, DEMO_PASSWORD)  # too soon, even with the right password
        assert status == 429 and int(retry) >= 1 and "wait" in str(body["message"])
        waits = []
        for failures in range(signin.FREE_FAILURES, signin.LOCK_AFTER):
            clock.shift(timedelta(seconds=signin.delay_after(failures)))
            waits.append(signin.delay_after(failures))
            assert login(client, "salah-salah")[0] == 401
        assert waits == sorted(waits) and waits[-1] > waits[0]
        status, body, retry = login(client, DEMO_PASSWORD)
        assert status == 429 and "locked" in str(body["message"]) and int(retry) > 60
        assert login(client, DEMO_PASSWORD, "dishub")[0] == 200  # other accounts are not affected
        clock.shift(timedelta(seconds=signin.LOCK_SECONDS + 1))
        assert login(client, DEMO_PASSWORD)[0] == 200


def test_an_unknown_username_is_throttled_the_same_way(client: FlaskClient) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        for _ in range(signin.FREE_FAILURES):
            assert login(client, "salah-salah", "nobody-here")[0] == 401
        assert login(client, "salah-salah", "nobody-here")[0] == 429


def test_a_success_clears_the_count(client: FlaskClient) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False) as clock:
        for _ in range(signin.FREE_FAILURES):
            login(client, "salah-salah")
        clock.shift(timedelta(seconds=5))
        assert login(client, DEMO_PASSWORD)[0] == 200
        for _ in range(signin.FREE_FAILURES):
            assert login(client, "salah-salah")[0] == 401


def test_password_checks_beyond_the_slots_wait_briefly_then_are_refused(tmp_path: object) -> None:
    slots = signin.HashingSlots(count=1, wait_seconds=0.05, folder=str(tmp_path))
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.held():
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    try:
        refused = None
        try:
            with slots.held():
                pass
        except Throttled as exc:
            refused = exc
        assert refused is not None and refused.retry_after >= 1
    finally:
        release.set()
        holder.join(5)
    with slots.held():  # free again
        pass


def test_a_busy_hashing_slot_answers_429_on_the_api(app: Flask, client: FlaskClient, tmp_path: object) -> None:
    signin.configure(1, 0.05, str(tmp_path))
    with signin.SLOTS.held():  # another request is checking a password
        status, body, retry = login(client, DEMO_PASSWORD)
    assert status == 429 and int(retry) >= 1 and "at once" in str(body["message"])
    assert login(client, DEMO_PASSWORD)[0] == 200
