"""A question to the reporter travels: e-mail to a real SMTP server (aiosmtpd), SMS to the gateway double."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import Flask

from api.extensions import db
from engine import citizens, conversation
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.tasks import TaskRecord
from engine.notify.outbox import OutboxMessage
from tests.workers.test_delivery import Inbox, Receiver, mail_app, receiver, smtp  # noqa: F401  (fixtures)
from workers.notifications import send_notification

QUESTION = "Di titik mana tepatnya sampah menumpuk? Mohon kirim foto."
VERIFIER = Actor("verifier", "verifier", "batam.diskominfo")


def ask(reporter: dict[str, Any]) -> tuple[str, OutboxMessage]:
    """File a complaint, have the verifier ask a question; the reporter's outbox row for it."""
    submission = lifecycle.Submission(title="Sampah menumpuk", body="Lima hari.", reporter=reporter)
    case = lifecycle.start_case(db.session(), submission).case
    tracking_id = case.tracking_id
    task = db.session.scalars(sa.select(TaskRecord).where(TaskRecord.case_id == case.id)).one()
    lifecycle.complete_task(db.session(), VERIFIER, task.id, {"decision": "need_info", "reason": QUESTION})
    row = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert row is not None and row.payload["template"] == "info_requested"
    return tracking_id, row


def test_the_question_reaches_the_reporter_by_email_with_the_tracking_link(
    mail_app: Flask,  # noqa: F811
    smtp: tuple[str, Inbox],  # noqa: F811
) -> None:
    mail_app.config["PUBLIC_URL"] = "https://lapor.batam.go.id"
    tracking_id, row = ask({"name": "Siti", "email": "siti@example.id"})
    assert send_notification(row.id) == "sent"
    [mail] = smtp[1].messages
    text = mail.get_payload(decode=True).decode()
    assert mail["To"] == "siti@example.id" and tracking_id in mail["Subject"]
    assert QUESTION in text
    assert tracking_id in text and "https://lapor.batam.go.id/lacak" in text


def test_the_question_reaches_the_reporter_by_sms(mail_app: Flask, receiver: Receiver) -> None:  # noqa: F811
    mail_app.config.update(SMS_GATEWAY_URL=receiver.url)
    tracking_id, row = ask({"name": "Budi", "phone": "+62812"})
    assert send_notification(row.id) == "sent"
    [(_headers, body)] = receiver.requests
    sms = json.loads(body)
    assert sms["to"] == "+62812"
    assert QUESTION in sms["text"] and tracking_id in sms["text"] and "/lacak" in sms["text"]


def test_the_registration_link_reaches_the_citizen_by_email(
    mail_app: Flask,  # noqa: F811
    smtp: tuple[str, Inbox],  # noqa: F811
) -> None:
    mail_app.config["PUBLIC_URL"] = "https://lapor.batam.go.id"
    citizens.register(db.session(), "rahasia", "wulandari", "rahasia-wulan-1", "wulan@example.id")
    db.session.commit()
    row = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id.is_(None))).one()
    assert send_notification(row.id) == "sent"
    [mail] = smtp[1].messages
    text = mail.get_payload(decode=True).decode()
    assert mail["To"] == "wulan@example.id"
    assert "https://lapor.batam.go.id/daftar/konfirmasi?token=" in text


def test_the_codes_reach_the_reporter_by_email_and_leave_the_database(
    mail_app: Flask,  # noqa: F811
    smtp: tuple[str, Inbox],  # noqa: F811
) -> None:
    submission = lifecycle.Submission(title="Lampu mati", body="Seminggu.", reporter={"email": "siti@example.id"})
    outcome = lifecycle.start_case(db.session(), submission)
    token, tracking_id = str(outcome.reporter_token), outcome.case.tracking_id
    assert conversation.send_codes(db.session(), outcome.case, token)
    db.session.commit()
    row = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert row is not None and row.payload["template"] == "secret_code"
    row_id = row.id
    assert send_notification(row_id) == "sent"
    mail = smtp[1].messages[-1]
    text = mail.get_payload(decode=True).decode()
    assert token in text and tracking_id in text
    db.session.expire_all()
    assert db.session.get_one(OutboxMessage, row_id).payload["params"] == {}  # the code is not kept
