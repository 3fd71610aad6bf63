"""Support (dukungan): citizens who follow an existing public complaint instead of filing it again.

A follower is a contact (name, e-mail or phone, or a signed-in reporter's account) attached to a case; the
outbox tells every follower of the case's public follow-ups (`follower:<id>` recipients, addresses read at
delivery like the reporter's). The reporter of a complaint marked as a duplicate becomes a follower of the
primary. The public page shows the number of supporters.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.audit import chain as audit
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.errors import Conflict, InvalidData

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
PREFIX = "follower:"


class FollowerKind(StrEnum):
    SUPPORTER = "supporter"  # "already reported — support it"
    DUPLICATE_REPORTER = "duplicate_reporter"  # the reporter of a case closed as its duplicate


class Follower(Base):
    """A contact told of a case's public follow-ups; `contact` is {name?, email?, phone?} or None."""

    __tablename__ = "complaint_follower"
    __table_args__ = (sa.Index("ix_complaint_follower_case", "case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    username: Mapped[str | None] = mapped_column(sa.String(64))
    source_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def check_contact(contact: Any, username: str | None) -> dict[str, Any] | None:
    """A supporter's `{name?, email?, phone?}`: an e-mail or a phone unless signed in; InvalidData otherwise."""
    if not isinstance(contact, dict):
        raise InvalidData("invalid supporter", {"contact": ["must be an object"]})
    errors: dict[str, list[str]] = {name: ["unknown field"] for name in set(contact) - {"name", "email", "phone"}}
    name, email, phone = contact.get("name"), contact.get("email"), contact.get("phone")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name.strip()) <= 200):
        errors["name"] = ["a text of 1 to 200 characters"]
    if email is not None and (not isinstance(email, str) or not EMAIL.fullmatch(email)):
        errors["email"] = ["an e-mail address"]
    if phone is not None and (not isinstance(phone, str) or not PHONE.fullmatch(phone)):
        errors["phone"] = ["a phone number"]
    if email is None and phone is None and username is None:
        errors.setdefault("email", []).append("give an e-mail or a phone number (or sign in) to be told of follow-ups")
    if errors:
        raise InvalidData("invalid supporter", errors)
    clean = {k: v for k, v in (("name", name), ("email", email), ("phone", phone)) if v is not None}
    return clean or None


def support(session: Session, case: Case, contact: Any, actor: Actor | None) -> Follower:
    """Add a supporter to a public case (flushes; the caller commits); Conflict when already following."""
    username = actor.username if actor is not None and actor.role == "reporter" else None
    clean = check_contact(contact, username)
    if _already(session, case, clean, username):
        raise Conflict("already supporting this complaint")
    follower = Follower(case_id=case.id, kind=FollowerKind.SUPPORTER, contact=clean, username=username)
    session.add(follower)
    case.updated_at = utcnow()
    session.flush()  # the case row first, as every command locks it
    audit.append(session, case, "supported", actor or Actor("guest", "reporter"), {"follower_id": follower.id})
    return follower


def _already(session: Session, case: Case, contact: dict[str, Any] | None, username: str | None) -> bool:
    followers = session.scalars(sa.select(Follower).where(Follower.case_id == case.id))
    for f in followers:
        if username is not None and f.username == username:
            return True
        mine, theirs = contact or {}, f.contact or {}
        if any(mine.get(k) and mine.get(k) == theirs.get(k) for k in ("email", "phone")):
            return True
    return False


def follow_as_duplicate(session: Session, duplicate: Case, primary: Case) -> Follower:
    """The reporter of `duplicate` follows `primary` (contact copied by reference: the case and account)."""
    follower = Follower(
        case_id=primary.id, kind=FollowerKind.DUPLICATE_REPORTER, contact=None,
        username=duplicate.reporter_username, source_case_id=duplicate.id,
    )  # fmt: skip
    session.add(follower)
    session.flush()
    return follower


def supporters(session: Session, case_ids: list[int]) -> dict[int, int]:
    """How many followers each of these cases has (absent = none)."""
    if not case_ids:
        return {}
    query = sa.select(Follower.case_id, sa.func.count()).where(Follower.case_id.in_(case_ids))
    return {case_id: count for case_id, count in session.execute(query.group_by(Follower.case_id))}


def followers_of(session: Session, case: Case) -> list[Follower]:
    return list(session.scalars(sa.select(Follower).where(Follower.case_id == case.id).order_by(Follower.id)))


def get_follower(session: Session, recipient: str) -> Follower | None:
    """The follower a `follower:<id>` outbox reference names, or None when it is gone."""
    follower_id = recipient.removeprefix(PREFIX)
    return session.get(Follower, int(follower_id)) if follower_id.isdigit() else None
