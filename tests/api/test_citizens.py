"""Citizen accounts: registration confirmed by an e-mail through the outbox, "Laporan saya", claiming a
guest's complaint with its secret code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from api.extensions import db
from engine.notify.outbox import OutboxMessage
from tests.api.conftest import API

ACCOUNT = {"username": "wulandari", "password": "rahasia-wulan-1", "email": "wulan@example.id", "name": "Wulan"}


def register(client: FlaskClient, **fields: Any) -> Any:
    return client.post(f"{API}/citizens", json={**ACCOUNT, **fields})


def confirmation_token() -> str:
    row = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id.is_(None))).one()
    assert (row.recipient, row.channel, row.payload["template"]) == ("user:wulandari", "email", "verify_email")
    return str(row.payload["params"]["token"])


def sign_in(client: FlaskClient) -> dict[str, str]:
    answer = client.post(f"{API}/auth/token", json={"username": "wulandari", "password": ACCOUNT["password"]})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def test_an_account_works_once_its_email_is_confirmed(client: FlaskClient) -> None:
    answer = register(client)
    assert answer.status_code == 201, answer.json
    assert answer.json == {"username": "wulandari", "email": "wulan@example.id", "active": False}
    login = {"username": "wulandari", "password": ACCOUNT["password"]}
    assert client.post(f"{API}/auth/token", json=login).status_code == 401
    confirmed = client.post(f"{API}/citizens/confirm", json={"token": confirmation_token()})
    assert confirmed.status_code == 200 and confirmed.json["active"] is True
    assert client.post(f"{API}/auth/token", json=login).status_code == 200


def test_a_bad_or_expired_link_is_refused_by_name(client: FlaskClient) -> None:
    register(client)
    token = confirmation_token()
    bad = client.post(f"{API}/citizens/confirm", json={"token": token[:-3] + "xyz"})
    assert bad.status_code == 422 and "token" in bad.json["errors"]
    with time_machine.travel(timedelta(days=3)):
        late = client.post(f"{API}/citizens/confirm", json={"token": token})
    assert late.status_code == 422 and "token" in late.json["errors"]


def test_registration_names_each_bad_field(client: FlaskClient) -> None:
    register(client)
    taken = register(client)
    assert taken.status_code == 422 and "username" in taken.json["errors"]
    bad = register(client, username="x y", email="bukan-email", password="pendek")
    assert bad.status_code == 422 and {"email", "password"} <= set(bad.json["errors"])


def test_my_complaints_and_claiming_a_guest_complaint(client: FlaskClient, app: Flask, auth: Any) -> None:
    register(client)
    client.post(f"{API}/citizens/confirm", json={"token": confirmation_token()})
    me = sign_in(client)
    mine = client.post(f"{API}/complaints", json={"title": "Parkir liar", "body": "Tiap malam."}, headers=me).json
    guest = client.post(f"{API}/complaints", json={"title": "Lampu mati", "body": "Sudah seminggu."}).json
    other = client.post(f"{API}/complaints", json={"title": "Jalan rusak", "body": "Berlubang."}).json
    listed = client.get(f"{API}/citizens/me/complaints", headers=me).json
    assert [c["tracking_id"] for c in listed["items"]] == [mine["tracking_id"]]

    wrong = {"tracking_id": guest["tracking_id"], "token": other["reporter_token"]}
    assert client.post(f"{API}/citizens/me/complaints", json=wrong, headers=me).status_code == 404
    claim = {"tracking_id": guest["tracking_id"].lower(), "token": guest["reporter_token"]}
    claimed = client.post(f"{API}/citizens/me/complaints", json=claim, headers=me)
    assert claimed.status_code == 200, claimed.json
    listed = client.get(f"{API}/citizens/me/complaints", headers=me).json
    assert {c["tracking_id"] for c in listed["items"]} == {mine["tracking_id"], guest["tracking_id"]}
    assert client.get(f"{API}/complaints/{guest['tracking_id']}", headers=me).status_code == 200
    assert client.post(f"{API}/citizens/me/complaints", json=claim, headers=me).status_code == 409

    history = client.get(f"{API}/complaints/{guest['tracking_id']}/history", headers=auth("auditor"))
    assert "claimed" in [e["type"] for e in history.json]
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


def test_staff_cannot_use_the_citizen_list(client: FlaskClient, auth: Any) -> None:
    assert client.get(f"{API}/citizens/me/complaints", headers=auth("verifier")).status_code == 403
    assert client.get(f"{API}/citizens/me/complaints").status_code == 401
