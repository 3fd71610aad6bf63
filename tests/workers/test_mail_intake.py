"""`aduan mail serve` in a real SMTP conversation: aiosmtpd receives, smtplib sends, no mocks.

The intake server and the outgoing SMTP server (where Aduan's answers and notifications go) both run on
127.0.0.1 in the test process; the database is the backend's.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from api import host_of
from api.extensions import db
from engine.audit.chain import Event
from engine.cases import attachments, lifecycle
from engine.cases.case import TRACKING_PATTERN, Case
from engine.cases.tasks import TaskRecord
from engine.channels import ChannelMessage
from engine.directory.users import User
from engine.notify.outbox import OutboxMessage
from tests.conftest import seeded
from tests.images import JPEG
from tests.workers.conftest import Inbox, free_port, make_app, smtp_server
from workers import mail_intake
from workers.notifications import send_notification

INTAKE = "aduan@batam.go.id"
CITIZEN = "siti@example.id"


@pytest.fixture
def outgoing() -> Iterator[tuple[str, Inbox]]:
    """The SMTP server Aduan sends through (SMTP_URL): it keeps every mail."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_app(backend: str, outgoing: tuple[str, Inbox], tmp_path: Path) -> Iterator[Flask]:
    app = make_app(
        backend, SMTP_URL=outgoing[0], MAIL_FROM="lapor@batam.go.id", MAIL_INTAKE_ADDRESS=INTAKE,
        ATTACHMENTS_DIR=str(tmp_path / "files"), PUBLIC_URL="https://lapor.batam.go.id", MAIL_MAX_BYTES=200_000,
    )  # fmt: skip
    with seeded(app):
        yield app


@pytest.fixture
def intake(mail_app: Flask) -> Iterator[tuple[str, int]]:
    """`aduan mail serve` as the CLI starts it, on a free port."""
    port = free_port()
    controller = mail_intake.start(host_of(mail_app), "127.0.0.1", port)
    yield "127.0.0.1", port
    controller.stop()


def send(server: tuple[str, int], mail: EmailMessage | bytes, sender: str = CITIZEN) -> None:
    with smtplib.SMTP(*server, timeout=30) as smtp:
        if isinstance(mail, bytes):
            smtp.sendmail(sender, [INTAKE], mail)
        else:
            smtp.send_message(mail)


def complaint_mail(
    subject: str = "Sampah menumpuk di Jl. Ahmad Yani", message_id: str = "<m1@example.id>"
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = f"Siti <{CITIZEN}>", INTAKE, subject, message_id
    mail.set_content("Sampah belum diangkut lima hari dan mulai berbau.\nFoto terlampir.")
    mail.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="sampah.jpg")
    return mail


def only_case() -> Case:
    db.session.rollback()  # see what the server's own session committed
    return db.session.scalars(sa.select(Case)).one()


def tracking_id_in(text: str) -> str:
    found = TRACKING_PATTERN.search(text)
    assert found, text
    return found.group(0)


def need_info(case: Case, question: str) -> None:
    verifier = db.session.get_one(User, "verifier").actor
    task = db.session.scalars(sa.select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.name == "verify"))
    lifecycle.complete_task(db.session(), verifier, task.one().id, {"decision": "need_info", "reason": question})


def test_a_complaint_with_a_photo_arrives_by_smtp_and_the_reply_by_email_threads_into_it(
    intake: tuple[str, int], outgoing: tuple[str, Inbox]
) -> None:
    send(intake, complaint_mail())
    case = only_case()
    assert (case.channel, case.title, case.contact_email) == ("email", "Sampah menumpuk di Jl. Ahmad Yani", CITIZEN)
    assert case.reporter == {"name": "Siti", "email": CITIZEN}
    [photo] = attachments.list_for(db.session(), case)
    assert (photo.filename, photo.content_type, photo.uploaded_by) == ("sampah.jpg", "image/jpeg", "email")

    [answer] = outgoing[1].messages  # the sender is told the number and the secret code, in their thread
    assert (answer["To"], answer["In-Reply-To"]) == (CITIZEN, "<m1@example.id>")
    assert f"[{case.tracking_id}]" in answer["Subject"] and "Kode rahasia" in answer.get_content()
    assert f"<{case.tracking_id}@batam.go.id>" in answer["References"]

    tracking_id = case.tracking_id
    need_info(case, "Di depan nomor berapa?")
    [row] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id == case.id))
    assert (row.channel, row.payload["template"]) == ("email", "info_requested")  # no "received": answered above
    assert send_notification(row.id) == "sent"  # as a worker does (it closes this session)
    asked = outgoing[1].messages[-1]
    assert (asked["Reply-To"], asked["In-Reply-To"]) == (INTAKE, "<m1@example.id>")
    assert tracking_id in asked["Subject"]

    reply = EmailMessage()  # the citizen's mail client answers; the subject no longer names the case
    reply["From"], reply["To"], reply["Subject"] = CITIZEN, asked["Reply-To"], "Re: lokasi"
    reply["Message-ID"], reply["In-Reply-To"] = "<m2@example.id>", asked["Message-ID"]
    reply["References"] = f"{asked['References']} {asked['Message-ID']}"
    reply.set_content("Di depan pasar Jodoh, nomor 12.\n\nPada Senin, Aduan menulis:\n> Di depan nomor berapa?")
    send(intake, reply)

    case = only_case()
    assert case.status == "submitted"
    [event] = db.session.scalars(sa.select(Event).where(Event.case_id == case.id, Event.type == "reporter_replied"))
    assert (event.actor, event.data["reply"]["message"]) == ("email", "Di depan pasar Jodoh, nomor 12.")
    receipt = outgoing[1].messages[-1]
    assert receipt["In-Reply-To"] == "<m2@example.id>" and "diterima" in receipt.get_content()


def test_a_repeated_delivery_changes_nothing_and_is_not_answered_twice(
    intake: tuple[str, int], outgoing: tuple[str, Inbox]
) -> None:
    send(intake, complaint_mail())
    send(intake, complaint_mail())  # the sending server retried after a lost acknowledgement
    case = only_case()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChannelMessage)) == 1
    assert len(attachments.list_for(db.session(), case)) == 1
    assert len(outgoing[1].messages) == 1


def test_someone_else_naming_a_case_in_the_subject_reaches_nothing(
    intake: tuple[str, int], outgoing: tuple[str, Inbox]
) -> None:
    send(intake, complaint_mail())
    case = only_case()
    need_info(case, "Di mana tepatnya?")
    other = EmailMessage()
    other["From"], other["To"], other["Subject"] = "budi@example.id", INTAKE, f"Re: [{case.tracking_id}] Aduan"
    other.set_content("Saya tahu tempatnya, di belakang pasar.")
    send(intake, other, sender="budi@example.id")
    assert only_case().status == "needs_info"
    answer = outgoing[1].messages[-1]
    assert answer["To"] == "budi@example.id" and "tidak ditemukan" in answer.get_content()
    assert case.tracking_id not in answer.get_content() and answer["References"] is None  # not put in its thread


def test_untrusted_mail_is_refused_or_ignored_and_the_server_keeps_working(
    intake: tuple[str, int], outgoing: tuple[str, Inbox]
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused), smtplib.SMTP(*intake, timeout=30) as smtp:
        smtp.sendmail(CITIZEN, ["someone@batam.go.id"], b"Subject: x\r\n\r\nx")  # only the intake address
    with pytest.raises(smtplib.SMTPException) as too_large:
        send(intake, b"From: " + CITIZEN.encode() + b"\r\nSubject: besar\r\n\r\n" + b"x" * 300_000)
    assert "552" in str(too_large.value)
    with pytest.raises(smtplib.SMTPDataError) as no_sender:
        send(intake, b"Subject: tanpa pengirim\r\n\r\nIsi pesan yang cukup panjang.")
    assert no_sender.value.smtp_code == 554

    vacation = EmailMessage()
    vacation["From"], vacation["To"], vacation["Subject"] = CITIZEN, INTAKE, "Out of office"
    vacation["Auto-Submitted"] = "auto-replied"
    vacation.set_content("I am away until Monday, and so is this long enough to be a complaint.")
    send(intake, vacation)
    broken = (
        f"From: {CITIZEN}\r\nTo: {INTAKE}\r\nSubject: Jalan rusak di Batu Aji\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n'
        'Jalan berlubang besar sejak bulan lalu.\r\n--b1\r\nContent-Type: image/jpeg; name="x.jpg"\r\n'
        'Content-Disposition: attachment; filename="x.jpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        "not base64 and not a jpeg!!\r\n"  # no closing boundary either
    ).encode()
    send(intake, broken)
    case = only_case()  # the vacation reply opened nothing; the broken mail opened a case without its "photo"
    assert (case.title, attachments.list_for(db.session(), case)) == ("Jalan rusak di Batu Aji", [])
    [answer] = outgoing[1].messages  # only the broken mail was answered, naming the refused file
    assert "x.jpg" in answer.get_content() and case.tracking_id in answer["Subject"]


def test_mail_serve_says_which_setting_it_needs(backend: str) -> None:
    app = make_app(backend, MAIL_INTAKE_ADDRESS=None)
    result = app.test_cli_runner().invoke(args=["mail", "serve", "--port", str(free_port())])
    assert result.exit_code == 1 and "MAIL_INTAKE_ADDRESS is not set" in result.output
