"""The audit trail is append-only and tamper-evident: the database refuses changes, `aduan audit verify`
finds the first broken link of every altered chain, and chains stay valid under concurrent writers and
across restarts."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from api.extensions import db
from engine.audit import chain as audit
from engine.calendar.working_days import _indonesian_holidays
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord, TaskStatus
from engine.errors import Conflict, NotFound
from engine.processes import registry as processes
from tests.conftest import append_only_suspended
from tests.engine.conftest import DLH, VERIFIER, Desk


def aduan(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def answered(session: Session) -> Desk:
    """A case submitted, disposed to dlh and answered: events 1..3."""
    desk = Desk(session)
    desk.submit(category="kebersihan")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    desk.do(DLH, "respond", decision="respond", message="Sudah diangkut", final=True)
    return desk


def case_id(tracking_id: str) -> sa.ScalarSelect[int]:
    return sa.select(Case.id).where(Case.tracking_id == tracking_id).scalar_subquery()


def tampered(tracking_id: str, statement: Callable[[sa.ScalarSelect[int]], sa.Executable]) -> None:
    """Run `statement` on the case's events past the triggers, as a database owner could, and commit."""
    session = db.session()
    with append_only_suspended(session):
        session.execute(statement(case_id(tracking_id)))
    session.commit()


# the database refuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE event SET actor = 'someone-else'",
        "DELETE FROM event",
        "UPDATE read_log SET actor = 'someone-else'",
        "DELETE FROM read_log",
    ],
    ids=["update-event", "delete-event", "update-read", "delete-read"],
)
def test_the_database_refuses_to_change_or_delete_the_trail(
    session: Session, demo_directory: None, statement: str
) -> None:
    desk = answered(session)
    case = desk.case  # (a fresh session)
    audit.record_read(desk.session, case, Actor("auditor", "auditor"), "test")
    desk.session.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        desk.session.execute(sa.text(statement))
    desk.session.rollback()
    assert len(desk.events()) == 3


def test_postgresql_refuses_to_truncate_the_trail(session: Session, demo_directory: None) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    answered(session)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text("TRUNCATE event CASCADE"))
    db.session.rollback()


# aduan audit verify ---------------------------------------------------------------------------------------


def test_intact_chains_verify_with_exit_status_zero(app: Flask, session: Session, demo_directory: None) -> None:
    first, second = answered(session), answered(session)
    result = aduan(app, "audit", "verify")
    assert (result.exit_code, result.output) == (0, "2 case(s) verified, 0 broken\n")
    one = aduan(app, "audit", "verify", first.tracking_id)
    assert (one.exit_code, one.output) == (0, "1 case(s) verified, 0 broken\n")
    assert second.tracking_id not in result.output


def test_a_row_altered_in_the_database_is_detected(app: Flask, session: Session, demo_directory: None) -> None:
    intact, altered = answered(session), answered(session)
    tampered(
        altered.tracking_id,
        lambda case: (
            sa.update(audit.Event)
            .where(audit.Event.case_id == case, audit.Event.seq == 2)
            .values(data={"input": {"decision": "accept", "agency": "batam.dishub"}})
        ),
    )
    result = aduan(app, "audit", "verify")
    assert result.exit_code == 1
    assert result.output == (
        f"{altered.tracking_id}: chain broken at seq 2: hash does not match the event's content\n"
        "2 case(s) verified, 1 broken\n"
    )
    assert aduan(app, "audit", "verify", altered.tracking_id).exit_code == 1
    assert aduan(app, "audit", "verify", intact.tracking_id).exit_code == 0


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_event(
    app: Flask, session: Session, demo_directory: None
) -> None:
    desk = answered(session)
    forged = desk.events()[1]
    desk.session.expunge(forged)  # a copy to forge, not a change the session would flush
    forged.actor = "someone-else"
    new_hash = audit.chain_hash(forged.prev_hash, forged, desk.tracking_id)
    tampered(
        desk.tracking_id,
        lambda case: (
            sa.update(audit.Event)
            .where(audit.Event.case_id == case, audit.Event.seq == 2)
            .values(actor="someone-else", hash=new_hash)
        ),
    )
    result = aduan(app, "audit", "verify", desk.tracking_id)
    assert result.exit_code == 1
    assert "chain broken at seq 3: prev_hash does not match the previous event" in result.output


@pytest.mark.parametrize(
    ("seq", "message"),
    [(3, "chain broken at seq 3: the chain ends at seq 2 but the case's last event is seq 3"),
     (2, "chain broken at seq 2: sequence gap: found 3")],
    ids=["last-event", "middle-event"],
)  # fmt: skip
def test_a_deleted_event_is_detected(
    app: Flask, session: Session, demo_directory: None, seq: int, message: str
) -> None:
    desk = answered(session)
    tampered(
        desk.tracking_id, lambda case: sa.delete(audit.Event).where(audit.Event.case_id == case, audit.Event.seq == seq)
    )
    result = aduan(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"{desk.tracking_id}: {message}" in result.output


def test_an_unknown_tracking_id_is_a_usage_error(app: Flask, demo_directory: None) -> None:
    result = aduan(app, "audit", "verify", "ADU-NONE-NONE")
    assert result.exit_code == 2 and "no complaint 'ADU-NONE-NONE'" in result.output


def test_verify_walks_every_case_in_batches(session: Session, demo_directory: None) -> None:
    desks = [answered(session) for _ in range(5)]
    results = list(audit.verify_cases(db.session(), batch=2))
    assert [tid for tid, _ in results] == [d.tracking_id for d in desks]
    assert all(broken is None for _, broken in results)


# concurrent writers, restarts --------------------------------------------------------------------------


def ready_task(session: Session, tracking_id: str, name: str) -> str | None:
    query = (
        sa.select(TaskRecord.id)
        .join(Case, Case.id == TaskRecord.case_id)
        .where(Case.tracking_id == tracking_id, TaskRecord.name == name, TaskRecord.state == TaskStatus.READY)
    )
    return session.scalar(query)


STEPS: list[tuple[str, Actor, str, dict[str, object] | None]] = [
    ("verify", VERIFIER, "claim", None),
    ("verify", VERIFIER, "complete", {"decision": "accept", "agency": "batam.dlh"}),
    ("respond", DLH, "claim", None),
    ("respond", DLH, "complete", {"decision": "respond", "message": "Beres", "final": False}),
]


def writer(
    engine: sa.Engine, tracking_ids: list[str], seed: int, start: threading.Barrier, errors: list[BaseException]
) -> None:
    """Claim and complete the tasks of every case, in a random order, racing the other writers."""
    session = sessionmaker(bind=engine)()
    order = random.Random(seed)
    try:
        start.wait(10)
        for _round in range(3):
            for tracking_id in order.sample(tracking_ids, len(tracking_ids)):
                for name, actor, action, data in STEPS:
                    task_id = ready_task(session, tracking_id, name)
                    session.rollback()
                    if task_id is None:
                        continue
                    try:
                        if action == "claim":
                            lifecycle.claim_task(session, actor, task_id)
                        else:
                            lifecycle.complete_task(session, actor, task_id, data)
                    except (Conflict, NotFound):
                        pass  # another writer got there first: that is the race being tested
    except BaseException as exc:
        errors.append(exc)
    finally:
        session.close()


def test_chains_stay_valid_under_concurrent_writers(app: Flask, session: Session, demo_directory: None) -> None:
    ids = []
    for _ in range(4):
        desk = Desk(session)
        desk.submit(category="kebersihan")
        ids.append(desk.tracking_id)
    errors: list[BaseException] = []
    start = threading.Barrier(6)
    threads = [threading.Thread(target=writer, args=(db.engine, ids, n, start, errors)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    db.session.remove()
    for tracking_id in ids:
        desk = Desk(db.session())
        desk.tracking_id = tracking_id
        events = desk.events()
        assert audit.check_case(desk.case, events) is None
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert sum(e.type == "task_completed" and e.task == "verify" for e in events) == 1
        assert sum(e.type == "task_completed" and e.task == "respond" for e in events) >= 1
    result = aduan(app, "audit", "verify")
    assert (result.exit_code, result.output) == (0, "4 case(s) verified, 0 broken\n")


def test_chains_continue_valid_across_a_restart(
    app: Flask, session: Session, demo_directory: None, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = Desk(session)
    desk.submit(category="kebersihan")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    head = desk.case.event_hash
    # a new process: a new app and engine, and no cached specs, decisions or holiday tables
    monkeypatch.setattr(processes, "_CACHE", processes.SpecCache())
    monkeypatch.setattr(processes, "_DECISIONS", processes.SpecCache(size=64))
    _indonesian_holidays.cache_clear()
    restarted = create_app({"SQLALCHEMY_DATABASE_URI": backend, "TESTING": True})
    with restarted.app_context():
        again = Desk(db.session())
        again.tracking_id = desk.tracking_id
        again.do(DLH, "respond", decision="respond", message="Beres", final=True)
        again.reply(message="Terima kasih", satisfied=True, rating=5)
        events = again.events()
        assert [e.type for e in events][-2:] == ["task_completed", "reporter_replied"]
        assert events[2].prev_hash == head
        result = aduan(restarted, "audit", "verify", desk.tracking_id)
        assert (result.exit_code, result.output) == (0, "1 case(s) verified, 0 broken\n")
        db.session.remove()
        db.engine.dispose()


# checkpoints: chain heads signed outside the database -------------------------------------------------


def rewrite_with_recomputed_hashes(tracking_id: str) -> None:
    """What a database superuser could do: change an event past the triggers and recompute every hash after
    it, and the case's chain head, so that the chain verifies on its own."""
    session = db.session()
    case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()
    with append_only_suspended(session):
        prev = ""
        for event in audit.history(session, case):
            if event.seq == 2:
                event.data = {**event.data, "decision": "reject", "reason": "rewritten"}
            event.prev_hash = prev
            event.hash = prev = audit.chain_hash(prev, event, tracking_id)
            session.flush()
        case.event_hash = prev
        session.flush()
    session.commit()


def test_verify_against_a_checkpoint_finds_a_rewrite_whose_hashes_were_recomputed(
    app: Flask, session: Session, demo_directory: None, tmp_path: object
) -> None:
    app.config["AUDIT_CHECKPOINT_KEY"] = "kunci-checkpoint-yang-panjang-sekali"
    out = str(tmp_path) + "/checkpoints"
    desk = answered(session)
    taken = aduan(app, "audit", "checkpoint", "--out", out)
    assert taken.exit_code == 0, taken.output
    assert "1 chain head(s)" in taken.output

    rewrite_with_recomputed_hashes(desk.tracking_id)

    assert aduan(app, "audit", "verify").exit_code == 0  # the chain alone no longer shows it
    result = aduan(app, "audit", "verify", "--checkpoints", out)
    assert result.exit_code == 1, result.output
    assert f"{desk.tracking_id}: event seq 3 differs from the head signed" in result.output


def test_checkpoints_append_and_a_forged_line_is_reported(
    app: Flask, session: Session, demo_directory: None, tmp_path: object
) -> None:
    app.config["AUDIT_CHECKPOINT_KEY"] = "kunci-checkpoint-yang-panjang-sekali"
    out = str(tmp_path) + "/checkpoints"
    answered(session)
    assert aduan(app, "audit", "checkpoint", "--out", out).exit_code == 0
    assert aduan(app, "audit", "checkpoint", "--out", out).exit_code == 0
    assert aduan(app, "audit", "verify", "--checkpoints", out).exit_code == 0
    path = Path(out) / "checkpoints.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    with open(path, "w", encoding="utf-8") as forged:  # re-signed with another key: not authentic
        forged.write(lines[0].replace('"heads":[["', '"heads":[["X') + "\n" + lines[1] + "\n")
    result = aduan(app, "audit", "verify", "--checkpoints", out)
    assert result.exit_code == 1
    assert "line 1: signature does not match" in result.output


def test_a_checkpoint_needs_a_key_that_is_not_in_the_database(
    app: Flask, demo_directory: None, tmp_path: object
) -> None:
    app.config.pop("AUDIT_CHECKPOINT_KEY", None)
    result = aduan(app, "audit", "checkpoint", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "ADUAN_AUDIT_CHECKPOINT_KEY" in result.output
