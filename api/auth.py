"""Bearer tokens (signed JWT with expiry) and the caller of a request.

`current_actor()` is None for an anonymous caller; a malformed or expired token is a 401, never silently
anonymous. Handlers declare who may call them with `require(...)`; object-level scope is the engine's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

import jwt
import sqlalchemy as sa
from flask import current_app, request
from flask_smorest import abort
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from api.extensions import db
from engine.cases.access import Actor
from engine.channels import clients
from engine.channels.clients import ServiceClient
from engine.db import utcnow
from engine.directory.users import User

F = TypeVar("F", bound=Callable[..., Any])
ALGORITHM = "HS256"
STAFF_ROLES = frozenset({"verifier", "officer", "supervisor", "process_owner", "auditor", "admin"})
# what a bearer token needs of its user on every request: one Core row, no ORM object (read per request,
# never cached, so a deactivated account or a changed role loses access at once)
ACTIVE_USER = sa.select(User.role, User.agency).where(User.username == sa.bindparam("username"), User.active.is_(True))


def issue_token(user: User) -> tuple[str, int]:
    """A signed token for `user` and its lifetime in seconds."""
    lifetime = int(current_app.config.get("TOKEN_LIFETIME_SECONDS", 3600))
    now = utcnow()
    claims = {"sub": user.username, "role": user.role, "iat": now, "exp": now + timedelta(seconds=lifetime)}
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), lifetime


def issue_client_token(client: ServiceClient) -> tuple[str, int]:
    """A signed token for an agency system: it acts as an officer of its agency (`cid` names the client)."""
    lifetime = int(current_app.config.get("TOKEN_LIFETIME_SECONDS", 3600))
    now = utcnow()
    claims = {
        "sub": f"client:{client.client_id}", "cid": client.client_id, "role": "officer",
        "iat": now, "exp": now + timedelta(seconds=lifetime),
    }  # fmt: skip
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), lifetime


def _unauthorized(message: str) -> NoReturn:
    raise Unauthorized(message, www_authenticate=WWWAuthenticate("bearer", {"realm": "aduan"}))


def _decode(token: str) -> Actor:
    try:
        # a token must expire: one minted without `exp` (a leaked key, an old tool) is not accepted
        options: jwt.types.Options = {"require": ["exp", "sub", "role"]}
        claims = jwt.decode(token, current_app.config["SECRET_KEY"], algorithms=[ALGORITHM], options=options)
    except jwt.ExpiredSignatureError:
        _unauthorized("token expired")
    except jwt.InvalidTokenError:
        _unauthorized("invalid token")
    if "cid" in claims:
        actor = clients.actor_of(db.session(), str(claims["cid"]))
        if actor is None:
            _unauthorized("token no longer valid")
        return actor
    username = str(claims.get("sub", ""))
    row = db.session.connection().execute(ACTIVE_USER, {"username": username}).first()
    if row is None or row.role != claims.get("role"):
        _unauthorized("token no longer valid")
    return Actor(username=username, role=row.role, agency=row.agency)


def current_actor() -> Actor | None:
    """The signed-in caller of this request, or None."""
    key = "aduan.actor"  # per request (an app context, and so `g`, may outlive one request)
    if key not in request.environ:
        header = request.headers.get("Authorization", "")
        if not header:
            request.environ[key] = None
        elif not header.startswith("Bearer ") or not header[7:].strip():
            _unauthorized("expected 'Authorization: Bearer <token>'")
        else:
            request.environ[key] = _decode(header[7:].strip())
    return cast(Actor | None, request.environ[key])


def require(*roles: str) -> Callable[[F], F]:
    """Only signed-in callers with one of `roles` (any staff role when none given); 401 / 403 otherwise."""
    allowed = frozenset(roles) or STAFF_ROLES

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None:
                _unauthorized("sign in first (POST /api/v1/auth/token)")
            elif actor.role not in allowed:
                abort(403, message=f"the {actor.role} role may not do this")
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def staff() -> Actor:
    """The current caller, known to be signed in (use inside a `require`d handler)."""
    actor = current_actor()
    assert actor is not None
    return actor
