"""Idempotency keys: a retried command answers the result of its first run, and never runs twice.

A caller sends a key with a command; `begin` reserves (owner, key) together with a fingerprint of the
request in its own committed transaction, before the command runs. The same key again answers the stored
result (`Replay`); the same key with a different request is `InvalidData`; a key whose first request is
still running is `Conflict`. `finish` stores the result (success or refusal); `release` forgets a
reservation whose command failed unexpectedly, so that it may be retried. A reservation left by a crash
is taken over after `STALE_AFTER`: the command then runs again, and the engine's own checks (a completed
task is no longer ready) keep it from taking effect twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.errors import Conflict, InvalidData

MAX_KEY_LENGTH = 255
STALE_AFTER = timedelta(minutes=5)
KEEP_FOR = timedelta(hours=24)  # a key older than this is forgotten (`prune`): a later retry runs as new


class IdempotencyKey(Base):
    """One key of one caller: the request it was first used for, and that request's result once known."""

    __tablename__ = "idempotency_key"

    owner: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    response: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Replay:
    """The stored result of the key's first request."""

    status_code: int
    response: Any


@dataclass(frozen=True)
class Reservation:
    owner: str
    key: str


def fingerprint(*parts: Any) -> str:
    """A digest of what identifies a request (method, path, body)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        problem = f"1 to {MAX_KEY_LENGTH} printable characters"
        raise InvalidData("invalid Idempotency-Key", {"Idempotency-Key": [problem]})


def begin(session: Session, owner: str, key: str, request_fingerprint: str) -> Replay | Reservation:
    """Reserve the key for this request (commits), or answer what its first use left."""
    check_key(key)
    session.rollback()  # the reservation must be its own transaction, before the command's
    values = {"owner": owner, "key": key, "fingerprint": request_fingerprint, "created_at": utcnow()}
    try:
        session.execute(sa.insert(IdempotencyKey).values(**values))  # a statement: the unique key decides the race
        session.commit()
        return Reservation(owner, key)
    except IntegrityError:
        session.rollback()
    row = session.get_one(IdempotencyKey, (owner, key), populate_existing=True)
    if row.fingerprint != request_fingerprint:
        raise InvalidData(
            "Idempotency-Key already used for a different request",
            {"Idempotency-Key": ["already used for a different request; use a new key"]},
        )
    if row.status_code is not None:
        return Replay(row.status_code, row.response)
    if utcnow() - row.created_at < STALE_AFTER:
        raise Conflict("a request with this Idempotency-Key is still being processed; retry later")
    row.created_at = utcnow()  # a crashed first attempt: take the reservation over
    session.commit()
    return Reservation(owner, key)


def finish(session: Session, reservation: Reservation, status_code: int, response: Any) -> None:
    """Store the result the first request answered (commits)."""
    session.rollback()
    session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.owner == reservation.owner, IdempotencyKey.key == reservation.key)
        .values(status_code=status_code, response=response, finished_at=utcnow())
    )
    session.commit()


def release(session: Session, reservation: Reservation) -> None:
    """Forget a reservation whose command failed unexpectedly (commits)."""
    session.rollback()
    session.execute(
        sa.delete(IdempotencyKey).where(
            IdempotencyKey.owner == reservation.owner, IdempotencyKey.key == reservation.key
        )
    )
    session.commit()


def prune(session: Session, now: datetime, keep_for: timedelta = KEEP_FOR) -> int:
    """Forget keys first used before `now - keep_for` (the caller commits); returns how many.

    A retry after that is a new request: the engine's own checks (a completed task is no longer ready)
    still keep a command from taking effect twice.
    """
    result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < now - keep_for))
    return int(cast(sa.CursorResult[Any], result).rowcount)
