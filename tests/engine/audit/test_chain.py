"""Every command appends a hash-chained event in its own transaction."""

from __future__ import annotations

import sqlalchemy as sa

from engine.audit import chain as audit
from tests.conftest import append_only_suspended
from tests.engine.conftest import DLH, VERIFIER, Desk


def test_each_command_appends_one_chained_event_with_actor_task_and_data(desk: Desk, clock: object) -> None:
    desk.submit(category="kebersihan")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    desk.do(DLH, "respond", decision="respond", message="Beres")
    events = desk.events()
    assert [(e.seq, e.type, e.actor, e.actor_role, e.task) for e in events] == [
        (1, "submitted", "guest", "reporter", None),
        (2, "task_completed", "verifier", "verifier", "verify"),
        (3, "task_completed", "dlh", "officer", "respond"),
    ]
    verify = events[1].data
    assert verify["input"] == {"decision": "accept", "agency": "batam.dlh"}
    assert verify["changes"]["status"] == ["submitted", "dispositioned"]
    assert "verify" in verify["elements"]
    assert events[2].data["follow_ups"][0]["message"] == "Beres"
    assert audit.verify_chain(events, desk.tracking_id) is None
    assert events[1].prev_hash == events[0].hash


def test_an_altered_event_breaks_the_chain_at_that_event(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="reject", reason="spam")
    with append_only_suspended(desk.session):  # the triggers refuse it; a database owner gets past them
        desk.session.execute(sa.update(audit.Event).where(audit.Event.seq == 1).values(actor="someone-else"))
    desk.session.commit()
    broken = audit.verify_chain(desk.events(), desk.tracking_id)
    assert broken is not None and broken.seq == 1


def test_chain_hashes_are_stored_as_32_bytes_on_postgresql_and_read_back_as_the_same_hex(
    desk: Desk, clock: object
) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    events = desk.events()
    postgres = desk.session.get_bind().dialect.name == "postgresql"
    stored = desk.session.execute(sa.text("SELECT length(prev_hash), length(hash) FROM event ORDER BY seq")).all()
    assert [tuple(row) for row in stored] == [(0, 32), (32, 32)] if postgres else [(0, 64), (64, 64)]
    assert len(events[1].hash) == 64 and int(events[1].hash, 16) >= 0  # hex text in Python
    assert (desk.case.event_seq, desk.case.event_hash) == (2, events[1].hash)
    assert audit.verify_chain(events, desk.tracking_id) is None
    assert audit.chain_hash(events[0].hash, events[1], desk.tracking_id) == events[1].hash
