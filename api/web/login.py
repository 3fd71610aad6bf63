"""Who is using the pages: staff signed in with a session cookie, and the reporter tokens a browser holds.

The cookie is Flask's signed session (SECRET_KEY). For staff it holds the id of a server-side session
(`engine.directory.signin.WebSession`, 8 hours) and the role; every request reloads both, so signing out, a
deactivated account or a changed role ends the session at once, even for a copy of the cookie. A guest
reporter's tokens stay in the same cookie after filing or tracking, so the tracking page works without
putting the secret in a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from api.extensions import db
from engine.cases.access import Actor
from engine.directory import signin
from engine.directory.users import User

F = TypeVar("F", bound=Callable[..., Any])
STAFF_ROLES = frozenset({"verifier", "officer", "supervisor", "process_owner", "auditor", "admin"})
TASK_ROLES = ("verifier", "officer", "supervisor")
MAX_TOKENS = 20


def current_staff() -> Actor | None:
    """The signed-in staff member of this request, or None."""
    if "web_actor" not in g:
        g.web_actor = _load()
    return cast(Actor | None, g.web_actor)


def _load() -> Actor | None:
    session_id = session.get("sid")
    if not isinstance(session_id, str):
        return None
    user = signin.session_user(db.session(), session_id)
    if user is None or not user.active or user.role != session.get("role") or user.role not in STAFF_ROLES:
        for key in ("sid", "user", "role"):
            session.pop(key, None)
        return None
    return user.actor


def current_citizen() -> Actor | None:
    """The signed-in citizen (a `reporter` account) of this request, or None; kept apart from staff."""
    if "web_citizen" not in g:
        username = session.get("citizen")
        user = db.session.get(User, username) if isinstance(username, str) else None
        if user is None or not user.active or user.role != "reporter":
            session.pop("citizen", None)
            user = None
        g.web_citizen = user.actor if user is not None else None
    return cast(Actor | None, g.web_citizen)


def sign_in_citizen(user: User) -> None:
    """A fresh session for a citizen account (the reporter tokens the browser holds are kept)."""
    tokens = session.get("tokens")
    session.clear()
    if tokens:
        session["tokens"] = tokens
    session.permanent = True
    session["citizen"] = user.username
    g.web_citizen, g.web_actor = user.actor, None


def sign_in(user: User) -> None:
    """A fresh session for `user`: whatever the cookie held is dropped, except the reporter tokens."""
    tokens = session.get("tokens")
    session.clear()
    if tokens:
        session["tokens"] = tokens
    session.permanent = True
    lifetime = int(current_app.permanent_session_lifetime.total_seconds())
    session["sid"] = signin.open_session(db.session(), user, lifetime)
    db.session.commit()
    session["user"], session["role"] = user.username, user.role
    g.web_actor = user.actor


def sign_out() -> None:
    """End the session here and on the server: the same cookie, replayed, no longer signs anyone in."""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        signin.close_session(db.session(), session_id)
        db.session.commit()
    session.clear()
    g.web_actor = g.web_citizen = None


def staff_required(*roles: str) -> Callable[[F], F]:
    """Signed-in staff with one of `roles` (any staff role when none): the login page, or 403."""
    allowed = frozenset(roles) or STAFF_ROLES

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_staff()
            if actor is None:
                return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
            if actor.role not in allowed:
                abort(403)
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def staff() -> Actor:
    """The signed-in staff member (inside a `staff_required` view)."""
    actor = current_staff()
    assert actor is not None
    return actor


def safe_next(target: str | None) -> str | None:
    """A local path to go back to after signing in; anything else (another host, `//x`) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def reporter_token(tracking_id: str) -> str | None:
    tokens = session.get("tokens")
    return tokens.get(tracking_id) if isinstance(tokens, dict) else None


def keep_reporter_token(tracking_id: str, token: str) -> None:
    """Remember a reporter token in the cookie (the newest MAX_TOKENS)."""
    tokens = dict(session.get("tokens") or {})
    tokens.pop(tracking_id, None)
    tokens[tracking_id] = token
    session["tokens"] = dict(list(tokens.items())[-MAX_TOKENS:])
