"""Staff and registered reporters: one role, one agency, an argon2 password hash."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases.access import Actor, Role
from engine.db import Base, UTCDateTime, utcnow
from engine.directory.agencies import Agency
from engine.errors import InvalidData

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
HASHER = PasswordHasher()
_DUMMY_HASH = HASHER.hash("not a real password")
AGENCY_ROLES = frozenset({Role.VERIFIER, Role.OFFICER, Role.SUPERVISOR})


class User(Base):
    """A person who signs in. Staff roles need an agency; reporters, owners, auditors and admins may have one."""

    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), index=True)
    agency: Mapped[str | None] = mapped_column(sa.ForeignKey("agency.code"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def actor(self) -> Actor:
        return Actor(username=self.username, role=self.role, agency=self.agency)


def validate_user(session: Session, username: str, role: str, agency: str | None, password: str) -> None:
    """InvalidData naming every bad field of a new user."""
    errors: dict[str, list[str]] = {}
    if not USERNAME.fullmatch(username):
        errors["username"] = ["2-64 lower-case letters, digits, '.', '_' or '-'"]
    elif session.get(User, username) is not None:
        errors["username"] = [f"{username!r} is taken"]
    if role not in set(Role):
        errors["role"] = [f"one of {', '.join(r.value for r in Role)}"]
    if agency is None and role in AGENCY_ROLES:
        errors["agency"] = [f"required for the {role} role"]
    elif agency is not None and session.get(Agency, agency) is None:
        errors["agency"] = [f"no agency {agency!r}"]
    if len(password) < 8 or len(password) > 200:
        errors["password"] = ["8 to 200 characters"]
    if errors:
        raise InvalidData("invalid user", errors)


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    agency: str | None = None,
    name: str = "",
    email: str | None = None,
    phone: str | None = None,
) -> User:
    """Add a user (flushes; the caller commits)."""
    validate_user(session, username, role, agency, password)
    user = User(
        username=username, role=role, agency=agency, name=name or username, email=email, phone=phone,
        password_hash=HASHER.hash(password),
    )  # fmt: skip
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether or not the user exists)."""
    user = session.get(User, username) if len(username) <= 64 else None
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user is not None and user.active else None
