"""The thread of a case: texts of commands become messages in the command's transaction and audit event,
form schemas say which field is a message for whom, messages are append-only, the reporter is told."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from engine import conversation
from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import get_case
from engine.conversation import Message, MessageAudience
from engine.errors import Conflict, InvalidData
from engine.notify import delivery as notify
from engine.notify.outbox import OutboxMessage
from tests.engine.cases.test_lifecycle import accept, respond
from tests.engine.conftest import DLH, VERIFIER, Desk

REPORTER = {"name": "Siti", "email": "siti@example.id"}


def thread(desk: Desk, *audiences: MessageAudience) -> list[tuple[str, str, str]]:
    session = desk._fresh()
    case = get_case(session, desk.tracking_id)
    found = conversation.thread(session, case, audiences or tuple(MessageAudience))
    return [(m.author_role, m.audience, m.body) for m in found]


def post(desk: Desk, actor: Actor, body: str, audience: str | None = None) -> Message:
    session = desk._fresh()
    return conversation.post_message(session, get_case(session, desk.tracking_id), actor, body, audience)


def test_a_process_owners_new_form_declares_its_message_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "outcome": {"type": "string"},
            "answer": {"type": "string", "x-aduan-message": {"audience": "reporter"}},
            "note": {
                "type": "string",
                "x-aduan-message": {"audience": "staff", "audience_by": {"outcome": {"publish": "reporter"}}},
            },
            "untagged": {"type": "string"},
        },
    }
    data = {"outcome": "keep", "answer": " Jawaban ", "note": "Catatan", "untagged": "x"}
    drafts = conversation.from_form(schema, data, attachments=(7,))
    assert [(d.audience, d.body, d.attachments) for d in drafts] == [
        (MessageAudience.REPORTER, "Jawaban", (7,)),
        (MessageAudience.STAFF, "Catatan", ()),
    ]
    published = conversation.from_form(schema, {"outcome": "publish", "note": "Catatan"})
    assert [d.audience for d in published] == [MessageAudience.REPORTER]
    assert conversation.from_form(schema, {"answer": "   "}) == []


def test_the_message_is_in_the_commands_event_and_points_at_it(desk: Desk, clock: Any) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="need_info", reason="Mohon foto lokasi.")
    [event] = [e for e in desk.events() if e.data.get("messages")]
    assert event.data["messages"] == [{"audience": "reporter", "body": "Mohon foto lokasi.", "attachments": []}]
    [row] = desk.session.scalars(sa.select(Message)).all()
    assert (row.event_seq, row.author, row.author_role) == (event.seq, "verifier", "verifier")
    assert audit.verify_case(desk.session, desk.case) is None


def test_a_follow_up_round_and_the_reporters_answers(desk: Desk, clock: Any) -> None:
    desk.submit()
    accept(desk)
    desk.do(DLH, "respond", decision="respond", message="Dijadwalkan.", final=False)
    respond(desk, message="Sudah bersih.")
    desk.reply(message="Belum, masih ada.", satisfied=False)
    respond(desk, message="Sudah diangkut semua.")
    desk.reply(satisfied=True, rating=4)
    assert thread(desk) == [
        ("officer", "reporter", "Dijadwalkan."),
        ("officer", "reporter", "Sudah bersih."),
        ("reporter", "reporter", "Belum, masih ada."),
        ("officer", "reporter", "Sudah diangkut semua."),
    ]
    assert (desk.case.status, desk.case.rating) == ("closed", 4)


def test_an_escalation_note_is_internal(desk: Desk, clock: Any) -> None:
    desk.submit()
    clock.shift(86400 * 6)
    desk.run_due()
    head = Actor("verifier.head", "supervisor", "batam.diskominfo")
    desk.do(head, "escalate_verification", action="acknowledge", note="Verifikator sedang cuti.")
    assert thread(desk) == [("supervisor", "staff", "Verifikator sedang cuti.")]


def test_a_failed_command_leaves_no_message(desk: Desk, clock: Any) -> None:
    desk.submit()
    task_id, data = desk.task("verify").id, {"decision": "need_info", "reason": "Mohon foto."}
    with pytest.raises(InvalidData) as refused:
        lifecycle.complete_task(desk._fresh(), VERIFIER, task_id, data, attachments=[999])
    assert "attachments" in refused.value.errors
    with pytest.raises(Conflict):
        desk.reply(message="halo")  # nothing waits for a reply
    assert thread(desk) == []


def test_posting_bumps_the_case_and_appends_one_event(desk: Desk, clock: Any) -> None:
    desk.submit(reporter=REPORTER)
    case = desk.case
    version, seq = case.version, case.event_seq
    message = conversation.post_message(desk.session, case, DLH, "Untuk pelapor", "reporter")
    assert (case.version, case.event_seq, message.event_seq) == (version + 1, seq + 1, seq + 1)
    assert desk.events()[-1].type == "message_posted"
    with pytest.raises(InvalidData) as refused:
        post(desk, DLH, "x", "everyone")
    assert "audience" in refused.value.errors


@pytest.mark.parametrize("statement", ["UPDATE message SET body = 'diubah'", "DELETE FROM message"])
def test_the_database_refuses_to_change_a_message(desk: Desk, clock: Any, statement: str) -> None:
    desk.submit()
    post(desk, DLH, "Catatan")
    session = desk._fresh()
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(sa.text(statement))
    session.rollback()
    assert thread(desk) == [("officer", "staff", "Catatan")]


def test_the_reporter_is_told_the_question_in_the_status_notice(desk: Desk, clock: Any) -> None:
    desk.submit(reporter=REPORTER)
    desk.do(VERIFIER, "verify", decision="need_info", reason="Mohon foto lokasi.")
    post(desk, DLH, "Catatan internal")  # staff only: no notice
    post(desk, VERIFIER, "Kami tunggu fotonya.", "reporter")
    rows = desk._fresh().scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    sent = [(r.payload["template"], r.payload["params"].get("message")) for r in rows]
    assert sent == [
        ("received", None),
        ("info_requested", "Mohon foto lokasi."),
        ("new_message", "Kami tunggu fotonya."),
    ]
    mail = notify.render(
        desk.case, "info_requested", rows[1].payload["params"], "siti@example.id", "k", "https://lapor.batam.go.id"
    )
    assert "Mohon foto lokasi." in mail.body
    assert desk.tracking_id in mail.body and "https://lapor.batam.go.id/lacak" in mail.body


def test_the_reporters_own_words_are_not_sent_back_to_them(desk: Desk, clock: Any) -> None:
    desk.submit(reporter=REPORTER)
    post(desk, Actor("reporter", "reporter"), "Tambahan info")
    rows = desk._fresh().scalars(sa.select(OutboxMessage)).all()
    assert [r.payload["template"] for r in rows] == ["received"]
