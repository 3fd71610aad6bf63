"""engine.db: the hot path's statements run on the driver's cursor behave as SQLAlchemy's own execution."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.extensions import db
from engine.audit.chain import Event
from engine.cases import lifecycle
from engine.db import _statement as built
from engine.db import first_column, insert_rows, table, write_with_children
from engine.directory import demo
from engine.errors import Conflict

from .conftest import MONDAY_9AM

EVENT = table(Event)


def _case(session: Session) -> int:
    demo.seed(session, "rahasia-demo-1")
    session.commit()
    sub = lifecycle.Submission(title="Lampu jalan mati", body="Sudah seminggu gelap.", category="kebersihan")
    return lifecycle.start_case(session, sub).case.id


def _event(case_id: int, seq: int, at: datetime) -> dict[str, Any]:
    return {
        "case_id": case_id, "seq": seq, "at": at, "type": "note", "actor": "verifier", "actor_role": "verifier",
        "task": None, "data": {"teks": "Jalan Ahmad Yani — 5 hari", "n": [1, 2.5, None]}, "prev_hash": "ab" * 32,
        "hash": "0f" * 32,
    }  # fmt: skip


def _statement(case_id: int, seq: int, at: datetime) -> tuple[sa.TextClause, dict[str, Any]]:
    batch = insert_rows(EVENT, [_event(case_id, seq, at)], "event")
    return built((batch.shape,), True), batch.params


def test_values_are_converted_as_sqlalchemy_converts_them(session: Session) -> None:
    """The same row written both ways (aware datetime in another zone, JSON, a digest) reads back alike."""
    case_id = _case(session)
    at = MONDAY_9AM.astimezone(ZoneInfo("Asia/Jakarta"))  # 09:00 WIB: stored as 02:00 UTC
    conn = session.connection()
    clause, params = _statement(case_id, 100, at)
    ours = first_column(conn, clause, params)
    clause, params = _statement(case_id, 101, at)
    theirs = list(conn.execute(clause, params).scalars())
    session.commit()
    assert len(ours) == 1 and len(theirs) == 1 and ours[0] != theirs[0]
    rows = {e.seq: e for e in session.scalars(sa.select(Event).where(Event.seq.in_([100, 101])))}
    columns = [c.key for c in EVENT.columns if c.key not in ("id", "seq")]
    assert [getattr(rows[100], c) for c in columns] == [getattr(rows[101], c) for c in columns]
    assert rows[100].at == MONDAY_9AM and rows[100].hash == "0f" * 32
    assert rows[100].data == {"teks": "Jalan Ahmad Yani — 5 hari", "n": [1, 2.5, None]}


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(session: Session) -> None:
    """A duplicate (case_id, seq) is SQLAlchemy's IntegrityError, which a command's transaction turns into
    Conflict; the session rolls back and goes on."""
    case_id = _case(session)
    clause, params = _statement(case_id, 1, MONDAY_9AM)  # the case's first event has seq 1
    with pytest.raises(sa.exc.IntegrityError):
        first_column(session.connection(), clause, params)
    session.rollback()
    with pytest.raises(Conflict), lifecycle.transaction(session):
        first_column(session.connection(), clause, params)
    assert session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.case_id == case_id)) == 1


def test_listeners_see_every_statement(session: Session) -> None:
    """The statement-count tests and the round-trip benches listen on the engine: nothing run on the driver's
    cursor escapes them."""
    case_id = _case(session)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        head = insert_rows(EVENT, [_event(case_id, 200, MONDAY_9AM)], "head")
        child = insert_rows(EVENT, [_event(case_id, 201, MONDAY_9AM + timedelta(seconds=1))], "event")
        head_id, ids = write_with_children(session, head, [child], linked=False)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    session.commit()
    assert head_id is not None and len(ids) == 1
    if db.engine.dialect.name == "postgresql":  # the head row and its children: one statement
        assert len(seen) == 1 and seen[0].startswith("WITH wh AS (INSERT INTO event"), seen
    else:
        assert len(seen) == 2 and all(s.startswith("INSERT INTO event") for s in seen), seen


def test_a_child_naming_no_case_fails_and_nothing_is_written(session: Session) -> None:
    """The children's foreign keys are checked at COMMIT on PostgreSQL (migration h26_deferred_checks), at
    once on SQLite: either way a command whose rows name no case fails whole, and its head row is gone too."""
    case_id = _case(session)
    head = insert_rows(EVENT, [_event(case_id, 300, MONDAY_9AM)], "head")
    orphan = insert_rows(EVENT, [_event(case_id + 1000, 1, MONDAY_9AM)], "event")
    with pytest.raises(sa.exc.IntegrityError, match="case_id"), lifecycle.transaction(session):
        write_with_children(session, head, [orphan], linked=False)
    assert session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.seq == 300)) == 0


def test_batches_of_one_write_need_names_of_their_own(session: Session) -> None:
    """The head's and the children's parameters share one statement: two batches of one name would write one
    row's values twice."""
    case_id = _case(session)
    head = insert_rows(EVENT, [_event(case_id, 400, MONDAY_9AM)], "event")
    child = insert_rows(EVENT, [_event(case_id, 401, MONDAY_9AM)], "event")
    with pytest.raises(ValueError, match="name of its own"):
        write_with_children(session, head, [child], linked=False)
