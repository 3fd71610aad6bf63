"""Every lifecycle command is a handful of SQL round trips: a count, never a time.

The issue's target is 6 round trips per command on PostgreSQL, BEGIN and COMMIT included; the budget here is
5: BEGIN, the case (with the configuration token), one write statement (the case's INSERT or UPDATE with its
children as CTEs after it: migration h26_deferred_checks checks their foreign keys at COMMIT), COMMIT — and
the reporter's reply reads the case by its tracking id first, as its request does. A batch of due cases is
BEGIN, one SELECT, one write a case, COMMIT.
SQLite has no data-modifying CTEs, so there each child table (tasks, follow-ups, event, outbox) is its own
statement, an in-process call rather than a round trip: 11 at most there, since main's features added two
children (the resolution of the case's incidents, an UPDATE, and the command's messages: CTEs of the one
statement on PostgreSQL) and the lookup of the followers a follow-up notifies (a SELECT on both, only for a
case that has followers). A command that starts to read configuration, re-read a row after commit or write
its children apart from its case row fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from api.extensions import db
from engine.cases import lifecycle
from engine.cases.case import get_case
from tests.engine.cases.test_lifecycle import wib
from tests.engine.conftest import DLH, VERIFIER, Desk

BUDGET = {"postgresql": 5, "sqlite": 11}  # statements per command, BEGIN and COMMIT included


class Counter:
    """Statements the database received: every cursor execute, plus each BEGIN and COMMIT."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(" ".join(statement.split())[:120])

    def on_begin(self, conn: Any) -> None:
        self.statements.append("BEGIN")

    def on_commit(self, conn: Any) -> None:
        self.statements.append("COMMIT")

    def on_rollback(self, conn: Any) -> None:
        self.statements.append("ROLLBACK")


@contextmanager
def counted() -> Iterator[Counter]:
    """Count what the app's engine sends while the block runs (the session is fresh and warm before it)."""
    engine, counter = db.engine, Counter()
    hooks: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", counter.on_execute),
        ("begin", counter.on_begin),
        ("commit", counter.on_commit),
        ("rollback", counter.on_rollback),
    ]
    for name, hook in hooks:
        sa.event.listen(engine, name, hook)
    try:
        yield counter
    finally:
        for name, hook in hooks:
            sa.event.remove(engine, name, hook)


def within_budget(counter: Counter) -> None:
    listing = "\n  ".join(counter.statements)
    budget = BUDGET[db.engine.dialect.name]
    assert len(counter.statements) <= budget, f"{len(counter.statements)} round trips:\n  {listing}"
    if db.engine.dialect.name == "postgresql":
        written = [s for s in counter.statements if not s.startswith(("BEGIN", "SELECT", "COMMIT"))]
        assert len(written) == 1, f"{len(written)} write statements:\n  {listing}"


def _warm(desk: Desk) -> None:
    """One case through every command first: caches (parsed diagram, configuration) are warm, as in service."""
    desk.submit(category="kebersihan")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")


def test_start_complete_and_reply_stay_within_budget(desk: Desk, clock: Any) -> None:
    _warm(desk)
    session = desk._fresh()
    sub = lifecycle.Submission(title="Jalan berlubang", body="Lubang besar di Jl. Sudirman.", category="kebersihan")
    with counted() as start:
        outcome = lifecycle.start_case(session, sub)
    within_budget(start)
    desk.tracking_id = outcome.case.tracking_id

    verify_id = desk.task("verify").id
    session = desk._fresh()
    with counted() as verify:
        lifecycle.complete_task(session, VERIFIER, verify_id, {"decision": "accept", "agency": "batam.dlh"})
    within_budget(verify)

    respond_id = desk.task("respond").id
    session = desk._fresh()
    with counted() as respond:
        lifecycle.complete_task(session, DLH, respond_id, {"decision": "respond", "message": "Sudah.", "final": True})
    within_budget(respond)

    session = desk._fresh()
    with counted() as reply:  # the reporter's request finds the case by its tracking id first
        case = get_case(session, desk.tracking_id)
        lifecycle.reporter_reply(session, case, {"message": "Belum beres", "satisfied": False})
    within_budget(reply)
    assert desk.case.status != "closed"  # the reply took effect


def test_firing_timers_stays_within_budget(desk: Desk, clock: Any) -> None:
    _warm(desk)
    desk.submit()
    case_id = desk.case.id
    clock.move_to(wib(2026, 12, 3, 8, 0, 1))  # the reminder of `verify` is due
    session = desk._fresh()
    with counted() as fire:
        assert lifecycle.fire_timers(session, case_id)
    within_budget(fire)
    assert desk.events()[-1].type == "timer_fired"


def test_a_batch_of_due_cases_pays_one_select_and_one_commit(desk: Desk, clock: Any) -> None:
    """A sweep's batch (`fire_due`): BEGIN, one SELECT locking every case, each case's two write statements, COMMIT."""
    _warm(desk)
    cases = []
    for _ in range(5):
        desk.submit()
        cases.append(desk.case.id)
    clock.move_to(wib(2026, 12, 3, 8, 0, 1))
    session = desk._fresh()
    with counted() as fire:
        assert lifecycle.fire_due(session, cases) == cases
    listing = "\n  ".join(fire.statements)
    reads = [s for s in fire.statements if s.startswith("SELECT")]
    assert len(reads) == 1 and reads[0].startswith("SELECT complaint.id"), listing
    assert (fire.statements.count("BEGIN"), fire.statements.count("COMMIT")) == (1, 1), listing
    if db.engine.dialect.name == "postgresql":
        assert len(fire.statements) == 3 + len(cases), listing


def test_disposing_reads_no_agency_row(desk: Desk, clock: Any) -> None:
    """Whether the new agency takes the case over by webhook (`external`) comes from the configuration snapshot."""
    _warm(desk)
    desk.submit(category="kebersihan")
    verify_id = desk.task("verify").id
    session = desk._fresh()
    with counted() as verify:
        lifecycle.complete_task(session, VERIFIER, verify_id, {"decision": "accept", "agency": "batam.dlh"})
    assert not [s for s in verify.statements if "FROM agency" in s], verify.statements
    assert desk.case.agency == "batam.dlh"


def test_a_follow_up_on_a_case_nobody_follows_reads_no_followers(desk: Desk, clock: Any) -> None:
    """The first SELECT says whether the case has followers; the supporters' notice needs none when it has none."""
    _warm(desk)
    desk.submit(category="kebersihan")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    respond_id = desk.task("respond").id
    session = desk._fresh()
    with counted() as respond:
        lifecycle.complete_task(session, DLH, respond_id, {"decision": "respond", "message": "Sudah.", "final": True})
    assert not [s for s in respond.statements if s.startswith("SELECT complaint_follower")], respond.statements
    assert desk.events()[-1].data["follow_ups"][0]["message"] == "Sudah."
