"""`/stats` from a snapshot plus the changes since (`engine.stats.rollup`) equals the live query: right after
the refresh, after random changes to the cases and their tasks, with the clock moved past deadlines (both
ways), through the engine's own commands, and with a change committed while the refresh ran.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.extensions import db
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord
from engine.db import table
from engine.processes import registry as processes
from engine.stats import figures as stats
from engine.stats import rollup
from tests.engine.stats.test_one_pass import AGENCIES, NOW, STATUSES, Row, _duration, cases, expected, random_case

__all__ = ["cases"]  # the fixture, shared with test_one_pass

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture
def postgres_only(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the snapshot and its change log are PostgreSQL's (SQLite computes the figures live)")


def live(session: Session, scope: str, now: datetime) -> dict[str, Any]:
    condition = stats.where(session, Actor("a", "auditor"), stats.Query()) if scope == "all" else None
    return stats.stats(session, stats.public_where(stats.Query()) if condition is None else condition, now)


def rolled(session: Session, scope: str, now: datetime) -> dict[str, Any] | None:
    session.commit()  # a request's own transaction: it sees what is committed
    return rollup.answer(session, scope, now)


@pytest.mark.parametrize("scope", rollup.SCOPES)
@pytest.mark.parametrize("hours", [0, 3, -3, 24 * 40])
def test_a_snapshot_answers_as_the_live_query_whenever_asked(
    session: Session, cases: list[Row], scope: str, hours: int
) -> None:
    """-3 h: earlier than the snapshot's moment (deadlines un-pass); +40 days: follow-up deadlines pass."""
    assert rolled(session, scope, NOW) is None  # no snapshot yet: computed live
    rollup.refresh(db.engine, now=NOW)
    at = NOW + timedelta(hours=hours)
    answer = rolled(session, scope, at)
    assert answer is not None
    assert answer == live(session, scope, at)
    if hours == 0:
        assert answer == expected([r for r in cases if scope == "all" or not r["confidential"]])


def _change(session: Session, rng: random.Random, case_id: int) -> None:
    """What a command might do to a case's figures, the case row written first and then its tasks."""
    values: dict[str, Any] = {"version": Case.version + 1}
    for column, choices in CHANGES.items():
        if rng.random() < 0.3:
            values[column] = choices(rng)
    session.execute(sa.update(Case).where(Case.id == case_id).values(**values))
    ready = sa.and_(TaskRecord.case_id == case_id, TaskRecord.state == "ready")
    if rng.random() < 0.3:
        session.execute(sa.update(TaskRecord).where(ready).values(state="completed", ended_at=NOW))
    if rng.random() < 0.3:
        due = NOW + timedelta(hours=rng.choice((-50, -2, 1, 30)))
        task = {"id": f"t-{case_id}-{rng.random()}", "case_id": case_id, "name": "respond", "title": "t"}
        session.execute(sa.insert(TaskRecord).values(**task, role="officer", due_at=due, form="", state="ready"))


def _when(rng: random.Random) -> datetime | None:
    return rng.choice((None, NOW - timedelta(days=rng.randint(1, 60)), NOW + timedelta(hours=rng.randint(1, 90))))


CHANGES = {
    "status": lambda rng: rng.choice(STATUSES),
    "agency": lambda rng: rng.choice(AGENCIES),
    "category": lambda rng: rng.choice((None, "kebersihan", "parkir", "jalan")),
    "confidential": lambda rng: rng.random() < 0.5,
    "area": lambda rng: rng.choice((None, "batam.sekupang", "batam.nongsa")),
    "verified_at": _when,
    "first_follow_up_at": _when,
    "first_follow_up_due_at": _when,
    "followup_working_days": lambda rng: rng.choice((None, _duration(rng))),
    "verification_working_days": lambda rng: rng.choice((None, _duration(rng))),
    "disposition_count": lambda rng: rng.randint(0, 3),
    "rerouted_count": lambda rng: rng.randint(0, 2),
    "rating": lambda rng: rng.choice((None, 1, 3, 5)),
    "escalated": lambda rng: rng.random() < 0.2,
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changes_after_the_snapshot_are_counted_as_the_live_query_counts_them(
    session: Session, cases: list[Row], seed: int
) -> None:
    rollup.refresh(db.engine, now=NOW)
    rng = random.Random(seed)
    version = processes.active_version(session, processes.DEFAULT_KEY)
    assert version is not None
    for case_id in rng.sample([r["id"] for r in cases], 90):
        _change(session, rng, case_id)  # a third of the cases, some of them several times
        session.commit()
        if rng.random() < 0.2:
            _change(session, rng, case_id)
            session.commit()
    new = [random_case(rng, 1000 + n, version.id) for n in range(12)]
    session.execute(sa.insert(table(Case)), new)
    session.commit()
    for hours in (0, 2, -1, 24 * 30):
        at = NOW + timedelta(hours=hours)
        for scope in rollup.SCOPES:
            assert rolled(session, scope, at) == live(session, scope, at), (scope, hours)


def test_a_second_refresh_takes_the_changes_in_and_forgets_what_no_reader_needs(
    session: Session, cases: list[Row]
) -> None:
    first = rollup.refresh(db.engine, now=NOW)
    rng = random.Random(7)
    for case_id in rng.sample([r["id"] for r in cases], 40):
        _change(session, rng, case_id)
        session.commit()
    logged = session.scalar(sa.select(sa.func.count()).select_from(rollup.StatsDelta))
    assert logged == len(cases) + 40  # the inserts the first snapshot saw, and one entry a change since
    second = rollup.refresh(db.engine, now=NOW)
    third = rollup.refresh(db.engine, now=NOW)
    session.commit()
    assert first is not None and second is not None and third is not None
    kept = session.scalars(sa.select(rollup.StatsSnapshot.id).order_by(rollup.StatsSnapshot.id)).all()
    assert kept == [second, third]  # the one before the newest stays for a reader that still holds it
    assert session.scalar(sa.select(sa.func.count()).select_from(rollup.StatsDelta)) == 0
    for scope in rollup.SCOPES:
        assert rolled(session, scope, NOW) == live(session, scope, NOW)


@pytest.mark.parametrize("seed", range(6))
def test_medians_are_read_from_narrow_windows_around_the_snapshot_s(
    session: Session, cases: list[Row], seed: int
) -> None:
    """Four values on each side of every median: a few changes move each median by fewer ranks than that."""
    rollup.refresh(db.engine, now=NOW, window=4)
    rng = random.Random(seed)
    for case_id in rng.sample([r["id"] for r in cases], 3):
        _change(session, rng, case_id)
        session.commit()
    for scope in rollup.SCOPES:
        answer = rolled(session, scope, NOW)
        assert answer is not None
        assert answer == live(session, scope, NOW)


def test_too_many_changes_for_a_median_window_fall_back_to_the_live_query(session: Session, cases: list[Row]) -> None:
    rollup.refresh(db.engine, now=NOW, window=1)
    changed = [r["id"] for r in cases if r["followup_working_days"] is not None][:30]
    session.execute(sa.update(Case).where(Case.id.in_(changed)).values(followup_working_days=0.0))
    session.commit()
    assert rolled(session, "all", NOW) is None
    condition = stats.where(session, Actor("a", "auditor"), stats.Query())
    assert stats.stats(session, condition, NOW, rollup="all") == live(session, "all", NOW)


def test_a_change_committed_while_the_refresh_runs_is_counted_once(session: Session, cases: list[Row]) -> None:
    """The writer's transaction is open when the refresh takes its snapshot and commits before the refresh
    does: the snapshot does not see it, so the log entry counts it (and the next refresh keeps the entry)."""
    writer = db.engine.connect()
    target = next(r for r in cases if r["status"] != "closed")
    writer.execute(sa.update(Case).where(Case.id == target["id"]).values(status="closed", version=Case.version + 1))
    done = threading.Event()

    def commit_soon() -> None:
        done.wait(10)
        writer.commit()
        writer.close()

    thread = threading.Thread(target=commit_soon)
    thread.start()
    original = rollup._forget

    def forget_then_let_the_writer_commit(session: Session, previous: Any) -> None:
        original(session, previous)
        done.set()
        thread.join()

    try:
        rollup._forget = forget_then_let_the_writer_commit  # type: ignore[assignment]
        rollup.refresh(db.engine, now=NOW)
    finally:
        rollup._forget = original  # type: ignore[assignment]
        done.set()
        thread.join()
    assert rolled(session, "all", NOW) == live(session, "all", NOW)
    rollup.refresh(db.engine, now=NOW)  # its snapshot sees the write; the entry goes with the next one
    assert rolled(session, "all", NOW) == live(session, "all", NOW)


def test_the_engine_s_commands_keep_the_figures_current(session: Session, desk: Any, clock: Any) -> None:
    """Real commands (the case row, then its tasks, in one transaction) between two snapshots."""
    from tests.engine.conftest import DLH, VERIFIER

    for category in ("kebersihan", "parkir"):
        desk.submit(category=category)
        desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    rollup.refresh(db.engine)
    desk.do(DLH, "respond", decision="respond", message="Sudah diangkut", final=True)
    desk.submit(category="kesehatan")
    clock.shift(timedelta(days=9))
    now = datetime.now(UTC)
    desk.run_due()
    for scope in rollup.SCOPES:
        answer = rolled(session, scope, now)
        assert answer is not None
        assert answer == live(session, scope, now)
        assert answer["counts"]["total"] == 3
