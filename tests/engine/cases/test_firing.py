"""Due cases fired in batches (`lifecycle.fire_due`): one transaction for the batch, each case once, a case
held by another transaction skipped, and a case stuck on its diagram isolated so that the others still fire."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from api.extensions import db
from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.case import Case, get_case
from tests.engine.cases.test_lifecycle import wib
from tests.engine.conftest import VERIFIER, Desk
from tests.engine.processes.incidents.test_incidents import broken_files, insert_unvalidated, open_incidents


def submitted(desk: Desk, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        desk.submit()
        ids.append(desk.case.id)
    return ids


def fired_events(session: Session, case_id: int) -> int:
    session.rollback()
    case = session.get_one(Case, case_id)
    return sum(1 for event in audit.history(session, case) if event.type == "timer_fired")


def test_a_batch_fires_each_due_case_once_and_leaves_the_rest(desk: Desk, clock: time_machine.Coordinates) -> None:
    due = submitted(desk, 3)
    clock.move_to(wib(2026, 12, 3, 8, 0, 1))  # the reminders of their `verify` are due
    desk.submit()
    not_due = desk.case.id
    assert desk.case.next_timer_at is not None
    session = desk._fresh()
    assert lifecycle.fire_due(session, [due[2], not_due, 10_000, due[0], due[1], due[0]]) == sorted(due)
    assert lifecycle.fire_due(desk._fresh(), [*due, not_due]) == []
    session = desk._fresh()
    assert [fired_events(session, case_id) for case_id in [*due, not_due]] == [1, 1, 1, 0]
    assert session.get_one(Case, not_due).version == 1


def test_a_case_held_by_another_transaction_is_skipped_and_fires_later(
    desk: Desk, clock: time_machine.Coordinates, backend: str
) -> None:
    if not backend.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    held, free = submitted(desk, 2)
    clock.move_to(wib(2026, 12, 3, 8, 0, 1))
    db.session.remove()
    other = sa.create_engine(backend)
    try:
        with other.connect() as conn:
            conn.execute(sa.text("SELECT id FROM complaint WHERE id = :id FOR UPDATE"), {"id": held})
            session = desk._fresh()
            session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a batch that waited would fail, not hang
            assert lifecycle.fire_due(session, [held, free]) == [free]
            desk.session.rollback()
    finally:
        other.dispose()
    assert lifecycle.fire_due(desk._fresh(), [held, free]) == [held]
    session = desk._fresh()
    assert [fired_events(session, held), fired_events(session, free)] == [1, 1]


def test_a_case_stuck_on_its_diagram_leaves_its_incident_and_the_batch_still_fires(
    desk: Desk, session: Session, clock: time_machine.Coordinates
) -> None:
    good = submitted(desk, 2)
    insert_unvalidated(session, broken_files("update_case(status='archived', close_reason='incomplete')",
                                             "update_case(status='archived', close_reason=missing_name)"))  # fmt: skip
    desk.submit()
    desk.do(VERIFIER, "verify", decision="need_info", reason="Lokasi tepatnya di mana?")
    stuck, tracking_id = desk.case.id, desk.tracking_id
    clock.move_to(desk.case.next_timer_at + timedelta(days=60))  # past every timer of the reporter's wait
    rounds: list[list[int]] = []
    for _ in range(6):  # reminders fire first; then the timeout fails at the broken script
        rounds.append(lifecycle.fire_due(desk._fresh(), [good[0], stuck, good[1]]))
        if open_incidents(desk.session):
            break
    (incident,) = open_incidents(desk.session)
    assert (incident.case_id, incident.element, incident.attempts) == (stuck, "archive_incomplete", 1)
    assert stuck not in rounds[-1]
    session = desk._fresh()
    assert all(fired_events(session, case_id) >= 1 for case_id in good)
    assert all(session.get_one(Case, case_id).escalated for case_id in good)
    assert get_case(session, tracking_id).status == "needs_info"  # nothing of its failed firing was written
    assert lifecycle.fire_due(desk._fresh(), [stuck]) == []  # still due: the next sweep retries it
    (incident,) = open_incidents(desk.session)
    assert incident.attempts == 2


def test_run_due_fires_in_batches(desk: Desk, clock: time_machine.Coordinates) -> None:
    due = submitted(desk, 5)
    clock.move_to(wib(2026, 12, 3, 8, 0, 1))
    assert lifecycle.run_due(desk._fresh(), batch=2) == 5
    assert lifecycle.run_due(desk._fresh(), batch=2) == 0
    session = desk._fresh()
    assert [fired_events(session, case_id) for case_id in due] == [1] * 5
