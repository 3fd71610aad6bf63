"""Delivery jobs against local servers: e-mail to an SMTP server, SMS to a gateway, signed webhooks.

Each server runs on 127.0.0.1 in the test process. Jobs are called directly (as the inline loop does) or
run by an rq worker (with rq's Retry doing the backoff).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from rq import Queue

from api import host_of
from api.extensions import db
from engine.cases import lifecycle, tasks
from engine.cases.access import Actor
from engine.notify import webhooks
from engine.notify.outbox import OutboxKind, OutboxMessage, OutboxStatus
from tests.conftest import seeded
from tests.workers.conftest import Inbox, free_port, make_app, smtp_server, submit_due_case
from tests.workers.test_timers import burst
from workers import scheduler
from workers.notifications import RetryLater, send_notification
from workers.queue import connect, queue_names
from workers.webhooks import deliver_webhook

REPORTER = {"name": "Siti", "email": "siti@example.id", "phone": "+628111"}


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


class Receiver:
    """An HTTP endpoint on 127.0.0.1 recording requests and answering with the next scripted status."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = statuses or []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def mail_app(backend: str, smtp: tuple[str, Inbox]) -> Iterator[Flask]:

    app = make_app(backend, SMTP_URL=smtp[0], MAIL_FROM="lapor@batam.go.id", OUTBOX_BACKOFF=[1])
    with seeded(app):
        yield app


def outbox_rows(**where: Any) -> list[OutboxMessage]:
    db.session.rollback()  # jobs write in sessions of their own: read what they committed
    return list(db.session.scalars(sa.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)))


def test_the_reporter_gets_an_email_over_smtp_with_a_stable_message_id(
    mail_app: Flask, smtp: tuple[str, Inbox]
) -> None:
    submit_due_case(db.session(), reporter=REPORTER, anonymous=True)
    [row] = outbox_rows()
    row_id = row.id
    assert send_notification(row_id) == "sent"
    assert send_notification(row_id) is None  # sent rows are not sent again
    [mail] = smtp[1].messages
    assert (mail["To"], mail["From"], mail["Message-ID"]) == (
        "siti@example.id", "lapor@batam.go.id", f"<aduan-outbox-{row_id}@aduan>",
    )  # fmt: skip
    assert "diterima" in mail["Subject"]


def test_an_unreachable_smtp_server_is_retried_then_dead_lettered(backend: str, mail_app: Flask) -> None:
    submit_due_case(db.session(), reporter=REPORTER)
    [row] = outbox_rows()
    row_id = row.id
    mail_app.config.update(SMTP_URL=f"smtp://127.0.0.1:{free_port()}", OUTBOX_MAX_ATTEMPTS=2)
    with pytest.raises(RetryLater):
        send_notification(row_id)
    assert send_notification(row_id) == "dead"
    [row] = outbox_rows()
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 2)
    assert "SMTP" in (row.last_error or "")


def test_sms_goes_to_the_gateway_with_its_token(mail_app: Flask, receiver: Receiver) -> None:
    mail_app.config.update(SMS_GATEWAY_URL=receiver.url, SMS_GATEWAY_TOKEN="gw-token")
    submit_due_case(db.session(), reporter={"name": "Budi", "phone": "+62812"})
    [row] = outbox_rows()
    assert row.channel == "sms"
    assert send_notification(row.id) == "sent"
    [(headers, body)] = receiver.requests
    assert headers["Authorization"] == "Bearer gw-token"
    assert json.loads(body)["to"] == "+62812"


def test_a_whatsapp_complaint_is_answered_on_whatsapp_through_the_same_gateway(
    mail_app: Flask, receiver: Receiver
) -> None:
    mail_app.config.update(SMS_GATEWAY_URL=receiver.url, SMS_GATEWAY_TOKEN="gw-token")
    case_id = submit_due_case(db.session(), reporter={"name": "Budi", "phone": "+62812"}, channel="whatsapp")
    assert outbox_rows() == []  # the channel told the sender the number itself: no "received" message
    verifier = Actor("verifier", "verifier", "batam.diskominfo")
    [task] = tasks.open_tasks(db.session(), case_id)
    lifecycle.complete_task(db.session(), verifier, task.id, {"decision": "need_info", "reason": "Di mana?"})
    [row] = outbox_rows()
    assert (row.channel, row.payload["template"]) == ("whatsapp", "info_requested")
    assert send_notification(row.id) == "sent"
    [(headers, body)] = receiver.requests
    assert headers["Authorization"] == "Bearer gw-token"
    assert {k: v for k, v in json.loads(body).items() if k != "text"} == {"to": "+62812", "channel": "whatsapp"}


def test_the_inline_loop_delivers_what_commands_leave(mail_app: Flask, smtp: tuple[str, Inbox]) -> None:
    submit_due_case(db.session(), reporter=REPORTER)
    result = scheduler.run_once(host_of(mail_app))  # no REDIS_URL: fires and delivers in this thread
    assert (result.timers, result.outbox) == (1, 1)
    assert [m["To"] for m in smtp[1].messages] == ["siti@example.id"]


def test_webhooks_are_signed_and_carry_a_delivery_id(rq_app: Flask, receiver: Receiver) -> None:
    webhooks.add_endpoint(db.session(), "batam", receiver.url, "rahasia-webhook")
    db.session.commit()
    submit_due_case(db.session(), reporter=REPORTER, anonymous=True)
    [row] = outbox_rows(kind=OutboxKind.WEBHOOK)
    row_id = row.id
    assert deliver_webhook(row_id) == "sent"
    [(headers, body)] = receiver.requests
    expected = "sha256=" + hmac.new(b"rahasia-webhook", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Aduan-Signature"], expected)
    assert headers["X-Aduan-Delivery"] == f"aduan-outbox-{row_id}"
    payload = json.loads(body)
    assert payload["event"] == "submitted" and "siti" not in body.decode()


def test_a_failing_webhook_is_retried_by_rq_with_backoff_then_dead_lettered(rq_app: Flask) -> None:
    failing = Receiver([500, 503, 500])
    try:
        rq_app.config.update(OUTBOX_BACKOFF=[0], OUTBOX_MAX_ATTEMPTS=3)
        host_of(rq_app).state.pop("dispatcher", None)
        webhooks.add_endpoint(db.session(), "batam", failing.url, "s")
        db.session.commit()
        submit_due_case(db.session())  # the after-commit hook enqueues the webhook job
        queue = Queue(queue_names(rq_app.config)[2], connection=connect(rq_app.config["REDIS_URL"]))
        assert len(queue) == 1
        burst(rq_app)
        [row] = outbox_rows(kind=OutboxKind.WEBHOOK)
        assert (row.status, row.attempts) == (OutboxStatus.DEAD, 3)
        assert len(failing.requests) == 3
    finally:
        failing.close()


def test_a_webhook_answered_4xx_is_dead_at_once(rq_app: Flask) -> None:
    gone = Receiver([410])
    try:
        webhooks.add_endpoint(db.session(), "batam", gone.url, "s")
        db.session.commit()
        submit_due_case(db.session())
        [row] = outbox_rows(kind=OutboxKind.WEBHOOK)
        assert deliver_webhook(row.id) == "dead"
    finally:
        gone.close()
