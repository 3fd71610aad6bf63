"""The audit trail: append-only events per case, hash-chained (`hash = sha256(prev_hash ‖ canonical event)`).

Every command appends its events in its own transaction. The case row carries the last sequence number
and hash, so appending needs no extra read, and two writers of one case cannot both append: the case's
optimistic version (and the unique (case, seq) key) lets only one commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, load_only, mapped_column

from engine.cases.access import Actor
from engine.cases.case import Case
from engine.db import Base, HexDigest, UTCDateTime, case_reference, utcnow


class Event(Base):
    """One thing that happened to a case."""

    __tablename__ = "event"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(case_reference())  # indexed by (case_id, seq)
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(sa.String(40))  # no query selects events by type alone
    actor: Mapped[str] = mapped_column(sa.String(64))
    actor_role: Mapped[str] = mapped_column(sa.String(32))
    task: Mapped[str | None] = mapped_column(sa.String(100))
    # written once, read whole, never queried inside: `json` (its text) on PostgreSQL, smaller than `jsonb`
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    prev_hash: Mapped[str] = mapped_column(HexDigest())
    hash: Mapped[str] = mapped_column(HexDigest())


def canonical(event: Event, tracking_id: str) -> bytes:
    """The bytes an event's hash covers: every field but the hashes, in a fixed JSON form."""
    body = {
        "case": tracking_id,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "type": event.type,
        "actor": event.actor,
        "actor_role": event.actor_role,
        "task": event.task,
        "data": event.data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: Event, tracking_id: str) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event, tracking_id)).hexdigest()


def append(
    session: Session, case: Case, type: str, actor: Actor, data: dict[str, Any], task: str | None = None
) -> Event:
    """Append an event to `case`'s chain (the caller's transaction commits it with the command)."""
    event = link(case, type, actor, data, task)
    session.add(event)
    return event


def link(case: Case, type: str, actor: Actor, data: dict[str, Any], task: str | None = None) -> Event:
    """The next event of `case`'s chain, with the case's chain head moved to it; the caller adds it to the
    session (after writing the case row, so a command locks the case before its children)."""
    event = Event(
        case_id=case.id,
        seq=case.event_seq + 1,
        at=utcnow(),
        type=type,
        actor=actor.username,
        actor_role=actor.role,
        task=task,
        data=json.loads(json.dumps(data, default=str)),
        prev_hash=case.event_hash,
    )
    event.hash = chain_hash(event.prev_hash, event, case.tracking_id)
    case.event_seq, case.event_hash = event.seq, event.hash
    return event


def history(session: Session, case: Case) -> list[Event]:
    return list(session.scalars(sa.select(Event).where(Event.case_id == case.id).order_by(Event.seq)))


@dataclass(frozen=True)
class BrokenLink:
    """The first event whose sequence, link or hash does not match the chain."""

    seq: int
    reason: str


def verify_chain(events: Iterable[Event], tracking_id: str) -> BrokenLink | None:
    """None when the events form an unbroken chain from seq 1, else the first broken link."""
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return BrokenLink(expected_seq, f"sequence gap: found {event.seq}")
        if event.prev_hash != prev:
            return BrokenLink(event.seq, "prev_hash does not match the previous event")
        if chain_hash(prev, event, tracking_id) != event.hash:
            return BrokenLink(event.seq, "hash does not match the event's content")
        prev = event.hash
    return None


def check_case(case: Case, events: list[Event]) -> BrokenLink | None:
    """`verify_chain`, plus: the chain ends where the case row says it does (no event lost at the end)."""
    broken = verify_chain(events, case.tracking_id)
    if broken is not None:
        return broken
    last_seq, last_hash = (events[-1].seq, events[-1].hash) if events else (0, "")
    if (last_seq, last_hash) != (case.event_seq, case.event_hash):
        reason = f"the chain ends at seq {last_seq} but the case's last event is seq {case.event_seq}"
        return BrokenLink(min(last_seq, case.event_seq) + 1, reason)
    return None


def verify_case(session: Session, case: Case) -> BrokenLink | None:
    """The first broken link of one case's trail, or None when it is intact."""
    return check_case(case, history(session, case))


def verify_cases(session: Session, batch: int = 500) -> Iterator[tuple[str, BrokenLink | None]]:
    """(tracking id, first broken link or None) of every case, in id order, `batch` cases per query pair."""
    after = 0
    while True:
        query = sa.select(Case).options(load_only(Case.tracking_id, Case.event_seq, Case.event_hash))
        cases = list(session.scalars(query.where(Case.id > after).order_by(Case.id).limit(batch)))
        if not cases:
            return
        ids = [c.id for c in cases]
        rows = session.scalars(sa.select(Event).where(Event.case_id.in_(ids)).order_by(Event.case_id, Event.seq))
        by_case = {case_id: list(events) for case_id, events in groupby(rows, key=lambda e: e.case_id)}
        for case in cases:
            yield case.tracking_id, check_case(case, by_case.get(case.id, []))
        after = ids[-1]
        session.expunge_all()  # keep memory flat over millions of events


class ReadLog(Base):
    """An auditor's read of a case (kept apart from the case's chain, so reads never contend with commands)."""

    __tablename__ = "read_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(64))
    actor_role: Mapped[str] = mapped_column(sa.String(32))
    what: Mapped[str] = mapped_column(sa.String(40))


def record_read(session: Session, case: Case, actor: Actor, what: str) -> None:
    """Log that `actor` read `what` of `case` (the caller commits)."""
    session.add(ReadLog(case_id=case.id, actor=actor.username, actor_role=actor.role, what=what))


def reads(session: Session, case: Case) -> list[ReadLog]:
    return list(session.scalars(sa.select(ReadLog).where(ReadLog.case_id == case.id).order_by(ReadLog.id)))
