"""Citizens with an account: self-registration confirmed by e-mail, their complaints, claiming a guest's.

A citizen registers as a `reporter` account that stays inactive until the link sent to their e-mail
(through the outbox, like every notification) is opened; the link carries a signed, time-limited token
(no table: it names the account and the address it was sent to). A guest complaint moves into an account
with its tracking number and secret code, audited on the case's chain as `claimed`.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.access import Actor, Role
from engine.cases.case import Case, hash_token
from engine.db import utcnow
from engine.directory.users import User, create_user
from engine.errors import Conflict, InvalidData, NotFound
from engine.notify import outbox

VERIFY_SALT = "aduan-verify-email"
VERIFY_MAX_AGE = timedelta(days=2)
CLAIMED = "claimed"


def _signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=VERIFY_SALT)


def register(
    session: Session, secret: str, username: str, password: str, email: str, name: str = "", phone: str | None = None
) -> User:
    """A new, inactive reporter account and the e-mail that confirms it (outbox); the caller commits."""
    if not isinstance(email, str) or "@" not in email.strip(" @"):
        raise InvalidData("invalid account", {"email": ["an e-mail address"]})
    user = create_user(session, username, Role.REPORTER, password, None, name, email.strip(), phone)
    user.active = False
    token = _signer(secret).dumps({"u": user.username, "e": user.email})
    outbox.record_for_user(session, user.username, "verify_email", {"token": token})
    return user


def verify_email(session: Session, secret: str, token: str, max_age: timedelta = VERIFY_MAX_AGE) -> User:
    """Activate the account the token names (idempotent); InvalidData naming `token` when it is not valid."""
    try:
        data = _signer(secret).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        raise InvalidData("the link has expired", {"token": ["expired: register again"]}) from exc
    except BadSignature as exc:
        raise InvalidData("invalid link", {"token": ["not a valid link"]}) from exc
    user = session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.role != Role.REPORTER or user.email != data.get("e"):
        raise InvalidData("invalid link", {"token": ["not a valid link"]})
    user.active = True
    return user


def my_complaints(session: Session, username: str, limit: int = 200) -> list[Case]:
    """The complaints of a registered reporter, newest first ("Laporan saya")."""
    query = sa.select(Case).where(Case.reporter_username == username)
    return list(session.scalars(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def claim(session: Session, actor: Actor, tracking_id: str, token: str) -> Case:
    """Move a guest's complaint into `actor`'s account with its secret code (one audited command).

    NotFound for a wrong number or code (the same answer, so codes cannot be probed); Conflict when the
    complaint already belongs to an account.
    """
    if actor.role != Role.REPORTER:
        raise InvalidData("only a citizen account claims complaints", {"account": ["sign in as a citizen"]})
    with lifecycle.transaction(session):
        case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id.strip().upper()[:40])).first()
        if case is None or not hmac.compare_digest(hash_token(token or ""), case.reporter_token_hash):
            raise NotFound(f"no complaint {tracking_id!r} with this secret code")
        if case.reporter_username is not None:
            raise Conflict(f"complaint {case.tracking_id} already belongs to an account")
        case.reporter_username, case.updated_at = actor.username, utcnow()
        event = audit.link(case, CLAIMED, actor, {"account": actor.username})
        session.flush()  # the case row first, as every command writes it
        session.add(event)
    return case
