"""The case (a complaint) row: workflow state plus the read-model columns kept in step on every save."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, HexDigest, JSONType, UTCDateTime, case_reference, utcnow
from engine.errors import NotFound

TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TRACKING_PATTERN = re.compile(r"\bADU-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b", re.IGNORECASE)


class Status(StrEnum):
    """`complaint.status`, set by the diagram (`escalated` is a flag, not a status)."""

    SUBMITTED = "submitted"
    NEEDS_INFO = "needs_info"
    DISPOSITIONED = "dispositioned"
    IN_PROGRESS = "in_progress"
    AWAITING_REPORTER = "awaiting_reporter"
    CLOSED = "closed"
    ARCHIVED = "archived"


SPARSE = ("reporter_username", "contact_phone", "contact_email", "area", "next_timer_at")
"""Columns looked up only by a value (an account's cases, a sender's, an area, the timers due), and empty on
many rows (anonymous web reports, no phone, no place, no pending timer: every closed case): their indexes
leave the empty rows out. Every command writes an entry into each index of the case row, so an empty value
indexed cost about 20 bytes a closed case per column (migration h23_sparse_indexes)."""


WAITING = sa.text("first_follow_up_at IS NULL AND first_follow_up_due_at IS NOT NULL")
"""Cases waiting for a first follow-up with a deadline: their "decided" count changes when it passes."""


def _when_set(column: str) -> sa.Index:
    """An index of `column` over the rows where it is set (a lookup by value or range implies that)."""
    where = sa.text(f"{column} IS NOT NULL")
    return sa.Index(f"ix_complaint_{column}", column, postgresql_where=where, sqlite_where=where)


class Case(Base):
    """A complaint. `state` is the workflow without its spec; everything else is queryable read model."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_id: Mapped[str] = mapped_column(sa.String(20), unique=True)
    reporter_token_hash: Mapped[str] = mapped_column(sa.String(64))
    process_version_id: Mapped[int] = mapped_column(sa.ForeignKey("process_version.id"), index=True)
    serializer_version: Mapped[str] = mapped_column(sa.String(10))
    version: Mapped[int] = mapped_column(default=1)

    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32), default="complaint")
    category: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    agency: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    desk: Mapped[str] = mapped_column(sa.String(200), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.String(300))
    latitude: Mapped[float | None] = mapped_column(sa.Float)  # WGS84 degrees, 5 decimals (~1 m); engine.places
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    area: Mapped[str | None] = mapped_column(sa.String(64))  # an engine.places Area code
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # answers to the category's form
    media_url: Mapped[str | None] = mapped_column(sa.String(500))  # a photo the reporter's app hosts
    occurred_on: Mapped[date | None] = mapped_column(sa.Date)
    channel: Mapped[str] = mapped_column(sa.String(32), default="web")
    anonymous: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(default=False)
    reporter: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    reporter_username: Mapped[str | None] = mapped_column(sa.String(64))
    # the reporter's contact as channels match it (engine.cases.case.phone_key / email_key): an SMS or an e-mail
    # from the same number or address finds its cases without reading the `reporter` JSON of every case
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    contact_email: Mapped[str | None] = mapped_column(sa.String(200))
    entered_by: Mapped[str | None] = mapped_column(sa.String(64))  # staff who typed in a slip, letter or call

    escalated: Mapped[bool] = mapped_column(default=False, index=True)
    escalation_level: Mapped[int] = mapped_column(default=0)
    close_reason: Mapped[str | None] = mapped_column(sa.String(32))
    rating: Mapped[int | None]
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    event_seq: Mapped[int] = mapped_column(default=0)
    event_hash: Mapped[str] = mapped_column(HexDigest(), default="")

    # KPI facts (engine.stats.kpi keeps them on every save; /stats aggregates them in SQL)
    created_on: Mapped[date | None] = mapped_column(sa.Date)  # indexed below
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispositioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disposition_count: Mapped[int] = mapped_column(default=0)
    rerouted_count: Mapped[int] = mapped_column(default=0)
    first_follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_follow_up_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    followup_working_days: Mapped[float | None]
    verification_working_days: Mapped[float | None]

    # last on purpose: SQLite stores columns in order, and a multi-KB value early in the row would push every
    # later column onto overflow pages, which every scan of the read-model columns would then have to read
    state: Mapped[bytes] = mapped_column(sa.LargeBinary)

    # SQLite only: a period of submission dates, and the hot spots (engine.places.clusters) read from the index
    # alone. On PostgreSQL the covering stats index (migrations h21_stats, h22_storage; not modelled) is keyed
    # on created_on and includes every column the hot spots read, so it serves both (index-only scans).
    __table_args__ = (
        *(_when_set(column) for column in SPARSE),
        sa.Index("ix_complaint_followup_due", "first_follow_up_due_at", postgresql_where=WAITING, sqlite_where=WAITING),
        sa.Index("ix_complaint_created_on", "created_on").ddl_if(dialect="sqlite"),
        sa.Index(
            "ix_complaint_hotspot", "created_on", "latitude", "longitude", "area", "category", "status", "id"
        ).ddl_if(dialect="sqlite"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it from the class)


class FollowUp(Base):
    """An agency's answer to the reporter (tindak lanjut), as the diagram recorded it."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(case_reference(), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    agency: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    author: Mapped[str] = mapped_column(sa.String(64))


def phone_key(phone: str | None) -> str | None:
    """A phone number as channels match it: digits only, Indonesian trunk `0…` as `62…` (None if no number)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits[:20] if len(digits) >= 6 else None


def email_key(email: str | None) -> str | None:
    """An e-mail address as channels match it: trimmed and lower-cased (None if none)."""
    address = (email or "").strip().lower()
    return address[:200] if "@" in address else None


def contact_keys(reporter: dict[str, Any] | None) -> dict[str, str | None]:
    """The `contact_phone` and `contact_email` columns of a case filed with this reporter contact."""
    reporter = reporter or {}
    return {"contact_phone": phone_key(reporter.get("phone")), "contact_email": email_key(reporter.get("email"))}


def new_tracking_id() -> str:
    """A public, unguessable case number such as `ADU-7K3F-9QXM`."""
    chars = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))
    return f"ADU-{chars[:4]}-{chars[4:]}"


def new_reporter_token() -> tuple[str, str]:
    """A secret for a guest reporter and the hash stored in its place."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_case(session: Session, tracking_id: str) -> Case:
    """The case with this tracking id (unscoped: callers scope before exposing it)."""
    case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).first()
    if case is None:
        raise NotFound(f"no complaint {tracking_id!r}")
    return case


def follow_ups(session: Session, case: Case) -> list[FollowUp]:
    return list(session.scalars(sa.select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)))
