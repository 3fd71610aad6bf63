"""The outbox: rows written in the command's transaction, recipients by reference, delivery bookkeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.directory.users import User
from engine.errors import Conflict
from engine.notify import delivery as notify
from engine.notify import outbox, webhooks
from engine.notify.outbox import OutboxKind, OutboxMessage, OutboxStatus
from tests.engine.cases.test_lifecycle import accept, respond, wib
from tests.engine.conftest import VERIFIER, Desk

REPORTER = {"name": "Siti", "email": "siti@example.id", "phone": "+628111"}


def rows(session: Session, **where: Any) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)
    return list(session.scalars(query))


def give_contacts(session: Session) -> None:
    for user in session.scalars(sa.select(User)):
        user.email = f"{user.username}@batam.go.id"
    session.commit()


@pytest.fixture
def staff_mail(desk: Desk) -> None:
    give_contacts(desk.session)


def test_submitting_tells_the_reporter_by_reference_never_by_address(desk: Desk, clock: object) -> None:
    desk.submit(reporter=REPORTER, anonymous=True)
    [row] = rows(desk.session, kind=OutboxKind.NOTIFICATION)
    assert (row.recipient, row.channel, row.payload["template"]) == ("reporter", "email", "received")
    assert (row.status, row.attempts, row.event_seq) == (OutboxStatus.PENDING, 0, 1)
    assert "siti" not in repr(row.payload).lower()


def test_a_guest_without_contact_gets_no_row(desk: Desk, clock: object) -> None:
    desk.submit()
    assert rows(desk.session) == []


def test_a_reminder_goes_to_the_desks_verifiers_and_a_breach_to_their_supervisor(
    desk: Desk, clock: Any, staff_mail: None
) -> None:
    desk.submit()
    clock.move_to(wib(2026, 12, 3) + timedelta(seconds=1))  # reminder and breach at once
    assert desk.run_due() == 1
    sent = {(r.payload["template"], r.recipient) for r in rows(desk.session)}
    assert sent == {("verify_reminder", "user:verifier"), ("verify_breach", "user:verifier.head")}


def test_the_follow_up_breach_goes_to_the_agencys_supervisor_and_the_second_to_the_desks(
    desk: Desk, clock: Any, staff_mail: None
) -> None:
    desk.submit()
    accept(desk)
    clock.move_to(wib(2026, 12, 7) + timedelta(seconds=1))
    desk.run_due()
    clock.move_to(wib(2026, 12, 9) + timedelta(seconds=1))
    desk.run_due()
    sent = {(r.payload["template"], r.recipient) for r in rows(desk.session)}
    assert sent == {
        ("respond_reminder", "user:dlh"),
        ("respond_breach", "user:dlh.head"),
        ("respond_second_breach", "user:verifier.head"),
    }


def test_a_unit_without_staff_of_the_role_notifies_the_parent_agencys(desk: Desk, clock: Any, staff_mail: None) -> None:
    desk.submit(category="kesehatan")
    accept(desk, "batam.dinkes")
    unit = "batam.dinkes.puskesmas-sekupang"
    from tests.engine.conftest import DINKES

    desk.do(DINKES, "respond", decision="delegate", message="Ke Puskesmas", unit=unit)
    clock.move_to(wib(2026, 12, 7, 8, 0, 1))
    desk.run_due()
    assert [r.recipient for r in rows(desk.session)] == ["user:dinkes"]


def test_the_reporter_hears_of_the_answer_and_the_closure(desk: Desk, clock: Any) -> None:
    desk.submit(reporter={"name": "Budi", "phone": "+62812"})
    accept(desk)
    respond(desk)
    desk.reply(message="Terima kasih", satisfied=True, rating=5)
    sent = [(r.payload["template"], r.channel) for r in rows(desk.session)]
    assert sent == [("received", "sms"), ("answered", "sms"), ("closed", "sms")]


def test_a_command_that_fails_leaves_no_row(desk: Desk, clock: Any) -> None:
    desk.submit(reporter=REPORTER)
    before = len(rows(desk.session))
    with pytest.raises(Conflict):
        desk.reply(message="halo")  # nothing waits for a reply
    assert len(rows(desk.session)) == before
    assert desk.session.info.get(outbox.NEW_ROWS) is None


def test_webhooks_go_to_endpoints_of_the_cases_subtree_without_reporter_data(desk: Desk, clock: Any) -> None:
    dlh = webhooks.add_endpoint(desk.session, "batam.dlh", "http://127.0.0.1:9/dlh", "s3cret").id
    webhooks.add_endpoint(desk.session, "batam.dishub", "http://127.0.0.1:9/dishub")
    city = webhooks.add_endpoint(desk.session, "batam", "http://127.0.0.1:9/batam").id
    desk.session.commit()
    desk.submit(reporter=REPORTER, anonymous=True)
    accept(desk, "batam.dlh")
    hooks = rows(desk.session, kind=OutboxKind.WEBHOOK)
    assert [(r.recipient, r.payload["event"]) for r in hooks] == [
        (f"endpoint:{city}", "submitted"),  # the desk (batam.diskominfo) is in the city's subtree
        (f"endpoint:{dlh}", "task_completed"),
        (f"endpoint:{city}", "task_completed"),
    ]
    payload = hooks[1].payload
    assert payload["complaint"]["agency"] == "batam.dlh"
    assert payload["opened_tasks"][0]["name"] == "respond"
    text = repr([h.payload for h in hooks]).lower()
    assert "siti@" not in text and "+628111" not in text and "reporter" not in text


# Delivery bookkeeping ------------------------------------------------------------------------------------


@pytest.fixture
def pending(desk: Desk, clock: Any) -> int:
    desk.submit(reporter=REPORTER)
    return rows(desk.session)[0].id


def test_a_delivered_row_is_sent_once(desk: Desk, pending: int) -> None:
    calls: list[str] = []
    assert outbox.attempt(desk.session, pending, lambda s, r: calls.append(r.key)) == OutboxStatus.SENT
    assert outbox.attempt(desk.session, pending, lambda s, r: calls.append(r.key)) is None
    assert calls == [f"aduan-outbox-{pending}"]
    row = desk.session.get_one(OutboxMessage, pending)
    assert (row.attempts, row.sent_at is not None) == (1, True)


def fail(permanent: bool = False) -> Any:
    def send(session: Session, row: OutboxMessage) -> None:
        raise notify.DeliveryError("smtp down", permanent)

    return send


def test_a_failure_backs_off_and_the_last_attempt_dead_letters(desk: Desk, pending: int) -> None:
    session = desk.session
    statuses = [outbox.attempt(session, pending, fail(), max_attempts=3, schedule=(10, 60)) for _ in range(3)]
    assert statuses == [OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.DEAD]
    row = session.get_one(OutboxMessage, pending)
    assert (row.attempts, row.last_error) == (3, "smtp down")
    assert outbox.attempt(session, pending, fail()) is None  # dead stays dead


def test_backoff_grows_then_holds() -> None:
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [10, 60, 300, 1800, 1800, 1800]


def test_a_permanent_failure_dead_letters_at_once(desk: Desk, pending: int) -> None:
    assert outbox.attempt(desk.session, pending, fail(permanent=True)) == OutboxStatus.DEAD


def test_due_lists_pending_rows_whose_attempt_is_due(desk: Desk, pending: int, clock: Any) -> None:
    session = desk.session
    assert outbox.due(session, wib(2026, 11, 30, 9, 0, 0)) == [(pending, "notification")]
    outbox.attempt(session, pending, fail())
    assert outbox.due(session, wib(2026, 11, 30, 9, 0, 5)) == []  # backed off for 10 s
    assert outbox.due(session, wib(2026, 11, 30, 9, 0, 10)) == [(pending, "notification")]


def test_staff_of_the_verify_task_are_resolved_at_the_desk(desk: Desk, staff_mail: None, clock: Any) -> None:
    desk.submit()
    case = desk.case
    assert notify.recipients(desk.session, case, "verify_reminder", {}) == [("user:verifier", "email")]
    assert notify.recipients(desk.session, case, "no_such_template", {}) == []
    assert VERIFIER.agency == case.desk


def test_a_bug_in_delivery_counts_as_an_attempt_so_a_poison_message_ends_dead(desk: Desk, pending: int) -> None:
    def broken(session: Session, row: OutboxMessage) -> None:
        raise KeyError("template parameter")

    statuses = [outbox.attempt(desk.session, pending, broken, max_attempts=2) for _ in range(2)]
    assert statuses == [OutboxStatus.PENDING, OutboxStatus.DEAD]
    assert desk.session.get_one(OutboxMessage, pending).last_error == "KeyError: 'template parameter'"
