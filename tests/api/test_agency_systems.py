"""Integrated agency systems: their own credentials, their agency's cases only, retried commands answered once.

The agency system is a separate HTTP client (`requests`) talking to a live server on a free port.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest
import requests
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.audit.chain import Event
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord
from engine.channels.clients import ServiceClient
from engine.db import utcnow
from engine.notify.outbox import OutboxMessage
from tests.api.conftest import Auth
from tests.api.live_server import serving, serving_handler
from tests.images import PNG

API = "/api/v1"


def create_client(app: Flask, agency: str) -> tuple[str, str]:
    """`aduan clients create --agency AGENCY`, as an operator runs it: (client_id, client_secret)."""
    result = app.test_cli_runner().invoke(args=["clients", "create", "--agency", agency])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.splitlines())
    return lines["client_id"], lines["client_secret"]


def file_and_dispose(
    client: FlaskClient, auth: Auth, agency: str, title: str = "Sampah menumpuk di pasar", confidential: bool = False
) -> str:
    """A complaint filed by a citizen and disposed to `agency` by the verifier; its tracking id."""
    body = {"title": title, "body": "Sudah seminggu tidak diangkut.", "confidential": confidential}
    answer = client.post(f"{API}/complaints", json=body)
    tracking_id = answer.json["tracking_id"]
    verify = next(
        t
        for t in client.get(f"{API}/tasks", headers=auth("verifier")).json
        if t["complaint"]["tracking_id"] == tracking_id
    )
    done = client.post(
        f"{API}/tasks/{verify['id']}/complete",
        json={"data": {"decision": "accept", "agency": agency}},
        headers=auth("verifier"),
    )
    assert done.status_code == 200, done.json
    return tracking_id


class AgencySystem:
    """The agency's own system: a plain HTTP client holding only its client id and secret."""

    def __init__(self, base: str, client_id: str, secret: str) -> None:
        self.base, self.http = base + API, requests.Session()
        answer = self.http.post(
            f"{self.base}/auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(self.base + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def live(app: Flask, client: FlaskClient) -> Iterator[str]:
    app.config["TASK_CURSOR_SETTLE_SECONDS"] = 0
    with serving(app) as base:
        yield base


def events(session: Session, tracking_id: str, kind: str) -> list[Event]:
    session.expire_all()
    case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()
    return list(session.scalars(sa.select(Event).where(Event.case_id == case.id, Event.type == kind)))


def test_an_agency_system_answers_its_cases_once_and_cannot_see_another_agencys(
    app: Flask, client: FlaskClient, auth: Auth, session: Session, live: str
) -> None:
    ours = file_and_dispose(client, auth, "batam.dlh")
    theirs = file_and_dispose(client, auth, "batam.dishub", "Parkir liar di Nagoya", confidential=True)
    system = AgencySystem(live, *create_client(app, "batam.dlh"))

    listed = system.get("/tasks", since="")
    assert listed.status_code == 200
    assert [(t["name"], t["complaint"]["tracking_id"]) for t in listed.json()] == [("respond", ours)]
    task_id, cursor = listed.json()[0]["id"], listed.headers["X-Next-Cursor"]
    other_task = session.scalars(
        sa.select(TaskRecord.id)
        .join(Case, Case.id == TaskRecord.case_id)
        .where(Case.tracking_id == theirs, TaskRecord.name == "respond")
    ).one()
    assert system.get(f"/complaints/{theirs}").status_code == 404
    assert system.get(f"/tasks/{other_task}").status_code == 404
    assert system.post(f"/tasks/{other_task}/claim", key="k-other").status_code == 404
    assert (
        system.post(f"/complaints/{theirs}/attachments", files={"file": ("x.png", PNG, "image/png")}).status_code == 404
    )

    assert system.post(f"/tasks/{task_id}/claim", key="claim-1").status_code == 200
    upload = system.post(
        f"/complaints/{ours}/attachments", key="att-1", files={"file": ("bukti.png", PNG, "image/png")}
    )
    assert upload.status_code == 201, upload.text
    body = {"data": {"decision": "respond", "message": "Sampah sudah diangkut hari ini."}}
    first = system.post(f"/tasks/{task_id}/complete", key="complete-1", json=body)
    retry = system.post(f"/tasks/{task_id}/complete", key="complete-1", json=body)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert first.json()["complaint"]["status"] == "awaiting_reporter"
    assert len(events(session, ours, "task_completed")) == 2  # verify, respond: the retry completed nothing

    other_body = system.post(f"/tasks/{task_id}/complete", key="complete-1", json={"data": {"decision": "delegate"}})
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json()["errors"]
    view = system.get(f"/complaints/{ours}").json()
    assert [f["message"] for f in view["follow_ups"]] == ["Sampah sudah diangkut hari ini."]
    assert [a["filename"] for a in view["attachments"]] == ["bukti.png"]
    assert system.get("/tasks", since=cursor).json() == []


def test_a_retried_attachment_is_stored_once(
    app: Flask, client: FlaskClient, auth: Auth, session: Session, live: str
) -> None:
    ours = file_and_dispose(client, auth, "batam.dlh")
    system = AgencySystem(live, *create_client(app, "batam.dlh"))
    files = {"file": ("bukti.png", PNG, "image/png")}
    first = system.post(f"/complaints/{ours}/attachments", key="same", files=files)
    again = system.post(f"/complaints/{ours}/attachments", key="same", files=files)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert len(system.get(f"/complaints/{ours}").json()["attachments"]) == 1


def test_a_refusal_is_the_answer_a_retry_gets(client: FlaskClient, auth: Auth, app: Flask) -> None:
    ours = file_and_dispose(client, auth, "batam.dlh")
    task = next(
        t for t in client.get(f"{API}/tasks", headers=auth("dlh")).json if t["complaint"]["tracking_id"] == ours
    )
    headers = {**auth("dlh"), "Idempotency-Key": "bad-data"}
    first = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": {"decision": "respond"}}, headers=headers)
    retry = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": {"decision": "respond"}}, headers=headers)
    assert first.status_code == retry.status_code == 422
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"


def test_a_key_is_the_callers_own(client: FlaskClient, auth: Auth, app: Flask) -> None:
    ours = file_and_dispose(client, auth, "batam.dlh")
    task = next(
        t for t in client.get(f"{API}/tasks", headers=auth("dlh")).json if t["complaint"]["tracking_id"] == ours
    )
    claim = f"{API}/tasks/{task['id']}/claim"
    assert client.post(claim, headers={**auth("dlh"), "Idempotency-Key": "k"}).status_code == 200
    second = client.post(claim, headers={**auth("dlh.head"), "Idempotency-Key": "k"})
    assert second.status_code == 404  # not a task a supervisor may do: judged afresh, not replayed
    assert "Idempotent-Replayed" not in second.headers


def test_an_overlong_idempotency_key_is_422_naming_the_header(client: FlaskClient, auth: Auth) -> None:
    ours = file_and_dispose(client, auth, "batam.dlh")
    task = next(
        t for t in client.get(f"{API}/tasks", headers=auth("dlh")).json if t["complaint"]["tracking_id"] == ours
    )
    answer = client.post(f"{API}/tasks/{task['id']}/claim", headers={**auth("dlh"), "Idempotency-Key": "x" * 300})
    assert answer.status_code == 422 and "Idempotency-Key" in answer.json["errors"]


# Credentials and scope -------------------------------------------------------------


def token_answer(client: FlaskClient, **form: str) -> Any:
    return client.post(f"{API}/auth/token", data={"grant_type": "client_credentials", **form})


def test_a_wrong_secret_or_unknown_client_is_401(client: FlaskClient, app: Flask) -> None:
    client_id, secret = create_client(app, "batam.dlh")
    assert token_answer(client, client_id=client_id, client_secret=secret + "x").status_code == 401
    assert token_answer(client, client_id="nobody", client_secret=secret).status_code == 401


def test_client_credentials_without_the_secret_are_422_naming_it(client: FlaskClient, app: Flask) -> None:
    client_id, _ = create_client(app, "batam.dlh")
    answer = token_answer(client, client_id=client_id)
    assert answer.status_code == 422 and "client_secret" in answer.json["errors"]


def test_a_clients_token_is_an_officers_only(client: FlaskClient, app: Flask) -> None:
    client_id, secret = create_client(app, "batam.dlh")
    token = token_answer(client, client_id=client_id, client_secret=secret).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(
            f"{API}/agencies", json={"code": "batam.x", "name": "X", "parent": "batam"}, headers=headers
        ).status_code
        == 403
    )
    assert client.get(f"{API}/processes", headers=headers).status_code == 403
    assert client.get(f"{API}/tasks", headers=headers).status_code == 200


def test_a_revoked_clients_token_is_401(client: FlaskClient, app: Flask, session: Session) -> None:
    client_id, secret = create_client(app, "batam.dlh")
    token = token_answer(client, client_id=client_id, client_secret=secret).json["access_token"]
    assert app.test_cli_runner().invoke(args=["clients", "revoke", client_id]).exit_code == 0
    assert session.get_one(ServiceClient, client_id, populate_existing=True).active is False
    assert client.get(f"{API}/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert token_answer(client, client_id=client_id, client_secret=secret).status_code == 401
    assert app.test_cli_runner().invoke(args=["clients", "revoke", "nobody"]).exit_code != 0


def test_creating_a_client_for_an_unknown_agency_fails_naming_it(app: Flask, client: FlaskClient) -> None:
    result = app.test_cli_runner().invoke(args=["clients", "create", "--agency", "nowhere"])
    assert result.exit_code != 0 and "agency" in result.output


# The cursor ---------------------------------------------------------------------


def test_tasks_since_a_cursor_walk_every_new_task_once(client: FlaskClient, auth: Auth, app: Flask) -> None:
    app.config["TASK_CURSOR_SETTLE_SECONDS"] = 0
    cases = [file_and_dispose(client, auth, "batam.dlh", f"Sampah ke-{n}") for n in range(3)]
    page = client.get(f"{API}/tasks", query_string={"since": "", "limit": 2}, headers=auth("dlh"))
    rest = client.get(
        f"{API}/tasks", query_string={"since": page.headers["X-Next-Cursor"], "limit": 2}, headers=auth("dlh")
    )
    end = client.get(f"{API}/tasks", query_string={"since": rest.headers["X-Next-Cursor"]}, headers=auth("dlh"))
    seen = [t["complaint"]["tracking_id"] for t in page.json + rest.json]
    assert seen == cases and end.json == []
    assert end.headers["X-Next-Cursor"] == rest.headers["X-Next-Cursor"]
    newer = file_and_dispose(client, auth, "batam.dlh", "Sampah lagi")
    later = client.get(f"{API}/tasks", query_string={"since": end.headers["X-Next-Cursor"]}, headers=auth("dlh"))
    assert [t["complaint"]["tracking_id"] for t in later.json] == [newer]


def test_a_task_younger_than_the_settling_time_waits_for_the_next_poll(
    client: FlaskClient, auth: Auth, app: Flask
) -> None:
    app.config["TASK_CURSOR_SETTLE_SECONDS"] = 2
    ours = file_and_dispose(client, auth, "batam.dlh")
    assert client.get(f"{API}/tasks?since=", headers=auth("dlh")).json == []
    with time_machine.travel(utcnow() + timedelta(seconds=3)):
        auth.forget()
        listed = client.get(f"{API}/tasks?since=", headers=auth("dlh")).json
    assert [t["complaint"]["tracking_id"] for t in listed] == [ours]


@pytest.mark.parametrize("cursor", ["garbage!", "bm90IGEgY3Vyc29y", "MjAyNi0xMS0zMHx4"])
def test_a_bad_cursor_is_422_naming_since(client: FlaskClient, auth: Auth, cursor: str) -> None:
    answer = client.get(f"{API}/tasks", query_string={"since": cursor}, headers=auth("dlh"))
    assert answer.status_code == 422 and "since" in answer.json["errors"]


# External agencies ----------------------------------------------------------------


def test_a_case_disposed_to_an_external_agency_is_handed_to_its_system_and_its_deadline_runs(
    client: FlaskClient, auth: Auth, app: Flask, session: Session
) -> None:
    marked = client.patch(f"{API}/agencies/batam.dlh", json={"external": True}, headers=auth("admin"))
    assert marked.status_code == 200 and marked.json["external"] is True
    assert app.test_cli_runner().invoke(args=["webhooks", "add", "batam.dlh", "http://127.0.0.1:9/hook"]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["webhooks", "add", "batam", "http://127.0.0.1:9/city"]).exit_code == 0
    ours = file_and_dispose(client, auth, "batam.dlh")
    session.expire_all()
    rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all()
    handed = [(r.recipient, r.payload["complaint"]["tracking_id"]) for r in rows if r.payload["event"] == "handed_over"]
    assert handed == [("endpoint:1", ours)]  # to the agency's system only, not the city's
    case = session.scalars(sa.select(Case).where(Case.tracking_id == ours)).one()
    respond = session.scalars(
        sa.select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.name == "respond")
    ).one()
    assert respond.due_at is not None and case.next_timer_at is not None


class WebhookReceiver(BaseHTTPRequestHandler):
    """The agency system's webhook endpoint: keeps each delivery whose signature checks out."""

    secret = "rahasia-sistem-dlh"
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(self.headers.get("X-Aduan-Signature", ""), expected)
        if signed:
            self.received.append(json.loads(body))
        self.send_response(204 if signed else 401)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    WebhookReceiver.received = []
    with serving_handler(WebhookReceiver) as port:
        yield f"http://127.0.0.1:{port}/aduan"


def test_an_external_agencys_system_is_handed_the_case_by_a_signed_webhook_and_answers_it(
    app: Flask, client: FlaskClient, auth: Auth, live: str, receiver: str
) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["agencies", "external", "batam.dlh"]).exit_code == 0
    added = runner.invoke(args=["webhooks", "add", "batam.dlh", receiver, "--secret", WebhookReceiver.secret])
    assert added.exit_code == 0, added.output
    ours = file_and_dispose(client, auth, "batam.dlh")
    delivered = runner.invoke(args=["timers", "run-due"])  # embedded mode: the scheduler's pass delivers
    assert "delivered" in delivered.output, delivered.output

    handed = [w for w in WebhookReceiver.received if w["event"] == "handed_over"]
    assert [w["complaint"]["tracking_id"] for w in handed] == [ours]
    assert "reporter" not in json.dumps(handed[0])
    system = AgencySystem(live, *create_client(app, "batam.dlh"))
    (task,) = [t for t in system.get("/tasks", since="").json() if t["complaint"]["tracking_id"] == ours]
    assert task["due_at"] is not None  # the follow-up deadline runs in Aduan
    body = {"data": {"decision": "respond", "message": "Ditangani lewat sistem DLH."}}
    assert system.post(f"/tasks/{task['id']}/complete", key="dlh-1", json=body).status_code == 200


def test_an_internal_agency_gets_no_hand_over(client: FlaskClient, auth: Auth, app: Flask, session: Session) -> None:
    assert app.test_cli_runner().invoke(args=["webhooks", "add", "batam.dlh", "http://127.0.0.1:9/hook"]).exit_code == 0
    file_and_dispose(client, auth, "batam.dlh")
    payloads = session.scalars(sa.select(OutboxMessage.payload).where(OutboxMessage.kind == "webhook")).all()
    assert payloads and all(p["event"] != "handed_over" for p in payloads)


def test_the_cli_marks_an_agency_external_and_back(app: Flask, client: FlaskClient, auth: Auth) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["agencies", "external", "batam.dishub"]).exit_code == 0
    assert client.get(f"{API}/agencies/batam.dishub", headers=auth("admin")).json["external"] is True
    assert runner.invoke(args=["agencies", "external", "batam.dishub", "--off"]).exit_code == 0
    assert client.get(f"{API}/agencies/batam.dishub", headers=auth("admin")).json["external"] is False


def test_only_an_admin_marks_an_agency_external(client: FlaskClient, auth: Auth) -> None:
    assert client.patch(f"{API}/agencies/batam.dlh", json={"external": True}, headers=auth("dlh")).status_code == 403
    assert client.patch(f"{API}/agencies/nowhere", json={"external": True}, headers=auth("admin")).status_code == 404
    answer = client.patch(f"{API}/agencies/batam.dlh", json={"external": "maybe"}, headers=auth("admin"))
    assert answer.status_code == 422 and "external" in answer.json["errors"]
