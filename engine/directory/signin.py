"""Signing in: per-account throttling of password guesses, bounded password hashing, server-side sessions.

Contract:
- `sign_in(session, username, password)` is one command (it commits): refused with `Throttled` while the
  account is locked or inside its growing delay; otherwise the password is checked (inside a host-wide
  slot, see `HashingSlots`), a failure is counted, and the LOCK_AFTER-th failure in a row locks the
  account for LOCK_SECONDS and appends an `account_locked` row to `account_event` (the audit of accounts).
  A success clears the count. The counts are kept by the name typed, whether or not such a user exists,
  so a locked answer tells nothing about which accounts exist.
- `HashingSlots` bounds how many argon2 checks run at once on this host (all processes and threads): a
  burst of sign-ins waits briefly for a slot, then gets `Throttled`, so it cannot take every CPU and
  worker from other requests.
- `open_session` / `session_user` / `close_session`: a signed-in browser holds only a random session id;
  the row it names is the session. Closing deletes the row, so a copied cookie stops working at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.directory import users
from engine.directory.users import User
from engine.errors import Throttled

FREE_FAILURES = 3  # mistyped passwords cost nothing; from the 4th failure on, each waits longer
MAX_DELAY_SECONDS = 60
LOCK_AFTER = 10
LOCK_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 3600
THROTTLE_FORGET_SECONDS = 24 * 3600  # failures this old, with no lock running, no longer count


class LoginThrottle(Base):
    """Failed sign-ins in a row for one typed username, and until when it may not try again."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccountEvent(Base):
    """Something that happened to an account (locked after repeated failures), kept for the auditors."""

    __tablename__ = "account_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class WebSession(Base):
    """A signed-in browser. The cookie holds the id; the table holds only its sha256."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    username: Mapped[str] = mapped_column(sa.ForeignKey("user_account.username", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def delay_after(failures: int) -> int:
    """Seconds to wait after `failures` failures in a row: 0, 0, 0, 1, 2, 4, … up to MAX_DELAY_SECONDS."""
    if failures < FREE_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS))


def _key(username: str) -> str:
    return username.strip().lower()[:64]


def check_allowed(row: LoginThrottle | None, now: datetime) -> None:
    """Throttled when the account is locked or still inside the delay its failures earned."""
    if row is None:
        return
    if row.locked_until is not None and row.locked_until > now:
        wait = math.ceil((row.locked_until - now).total_seconds())
        raise Throttled("too many failed sign-ins: this account is locked for a while", wait, row.locked_until)
    if row.last_failure_at is not None:
        ready = row.last_failure_at + timedelta(seconds=delay_after(row.failures))
        if ready > now:
            wait = math.ceil((ready - now).total_seconds())
            raise Throttled("too many failed sign-ins: wait before trying again", wait)


def _record_failure(session: Session, key: str, now: datetime) -> None:
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(username=key, failures=0)
        session.add(row)
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= LOCK_AFTER:
        row.locked_until = now + timedelta(seconds=LOCK_SECONDS)
        row.failures = 0
        data = {"failures": LOCK_AFTER, "until": row.locked_until.isoformat()}
        session.add(AccountEvent(at=now, username=key, type="account_locked", data=data))


def sign_in(session: Session, username: str, password: str, slots: HashingSlots | None = None) -> User | None:
    """The active user with these credentials, or None; Throttled while locked, delayed or too busy (commits)."""
    key, now = _key(username), utcnow()
    check_allowed(session.get(LoginThrottle, key), now)
    with (slots or SLOTS).held():
        user = users.authenticate(session, username, password)
    try:
        if user is None:
            _record_failure(session, key, now)
        else:
            session.execute(sa.delete(LoginThrottle).where(LoginThrottle.username == key))
        session.commit()
    except IntegrityError:  # a concurrent first failure of the same name inserted the row: count once more
        session.rollback()
        if user is None:
            _record_failure(session, key, now)
            session.commit()
    return user


def account_events(session: Session, username: str) -> list[AccountEvent]:
    query = sa.select(AccountEvent).where(AccountEvent.username == _key(username)).order_by(AccountEvent.id)
    return list(session.scalars(query))


class HashingSlots:
    """At most `count` password checks at once on this host, across processes: one flock'ed file per slot.

    `held()` waits up to `wait_seconds` for a free slot, then raises Throttled.
    """

    def __init__(self, count: int = 2, wait_seconds: float = 1.0, folder: str | None = None) -> None:
        self.count, self.wait_seconds = count, wait_seconds
        self.folder = Path(folder or tempfile.gettempdir()) / "aduan-hashing-slots"

    @contextmanager
    def held(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            for slot in range(self.count):
                handle = (self.folder / f"slot-{slot}").open("a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                    handle.close()
                return
            if time.monotonic() >= deadline:
                raise Throttled("too many sign-ins at once: try again in a moment", 1)
            time.sleep(0.01)


SLOTS = HashingSlots()


def configure(count: int, wait_seconds: float, folder: str | None = None) -> None:
    """Set this process's hashing slots (the API calls it once from its configuration)."""
    global SLOTS
    SLOTS = HashingSlots(count, wait_seconds, folder)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, user: User, lifetime_seconds: int = SESSION_SECONDS) -> str:
    """A new server-side session for `user`; returns the id the browser keeps (the caller commits)."""
    session_id, now = secrets.token_urlsafe(32), utcnow()
    expires = now + timedelta(seconds=lifetime_seconds)
    session.add(WebSession(id_hash=_hash(session_id), username=user.username, created_at=now, expires_at=expires))
    session.flush()
    return session_id


def session_user(session: Session, session_id: str) -> User | None:
    """The user of a live session, or None (unknown, closed or expired)."""
    row = session.get(WebSession, _hash(session_id))
    if row is None or row.expires_at <= utcnow():
        return None
    return session.get(User, row.username)


def close_session(session: Session, session_id: str) -> None:
    """End a session for good, and sweep this user's expired ones (the caller commits)."""
    row = session.get(WebSession, _hash(session_id))
    if row is not None:
        session.execute(
            sa.delete(WebSession).where(
                sa.or_(WebSession.id_hash == row.id_hash, WebSession.expires_at <= utcnow()),
                WebSession.username == row.username,
            )
        )


def prune(session: Session, now: datetime) -> int:
    """Delete expired sessions and throttle rows of names quiet for a day with no lock running (the caller
    commits); returns how many rows went. Account events stay: they are the audit of accounts."""
    quiet_since = now - timedelta(seconds=THROTTLE_FORGET_SECONDS)
    sessions = session.execute(sa.delete(WebSession).where(WebSession.expires_at <= now))
    throttles = session.execute(
        sa.delete(LoginThrottle).where(
            sa.or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < quiet_since),
            sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )
    return sum(int(cast(sa.CursorResult[Any], result).rowcount) for result in (sessions, throttles))
