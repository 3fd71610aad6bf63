"""Open311 GeoReport v2: services are categories, service requests are complaints filed by civic apps.

An app holds an API key (`aduan open311 key NAME`, only its sha256 is kept) and files requests for its
users. A filed request is a complaint on channel `open311` whose submitter of record is the app
(`open311:<name>`, the reporter audience of engine.cases.visibility): the app can follow what it filed,
even before verification, and everyone else sees only public complaints. GeoReport responses never
carry a reporter's identity, and a confidential complaint appears to no one but the app that filed it.
Statuses map to `open` / `closed`; `status_notes` is the latest public follow-up. A category's form
(a JSON Schema object) is published as the service's attributes and checks the answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from engine.cases import forms
from engine.cases.access import Actor, Role
from engine.cases.case import Case, FollowUp
from engine.cases.lifecycle import FINAL_STATUSES, Submission, start_case
from engine.cases.visibility import get_for, public_scope
from engine.db import Base, UTCDateTime, utcnow
from engine.directory.agencies import Agency
from engine.directory.categories import Category
from engine.errors import InvalidData, NotFound
from engine.settings import DEFAULT_SETTINGS, Settings

SUBMITTER_PREFIX = "open311:"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,40}$")
MAX_DESCRIPTION = 4000
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)  # the standard's default and widest date range


class Open311Key(Base):
    """An app allowed to file requests; `name` becomes the submitter of record `open311:<name>`."""

    __tablename__ = "open311_key"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str) -> str:
    """A new API key for the app `name` (flushes; the key is not stored and cannot be shown again)."""
    if not NAME.fullmatch(name):
        raise InvalidData("invalid key name", {"name": ["2-41 lower-case letters, digits, '.', '_' or '-'"]})
    if session.get(Open311Key, name) is not None:
        raise InvalidData("invalid key name", {"name": [f"{name!r} already has a key"]})
    key = "o311_" + secrets.token_urlsafe(24)
    session.add(Open311Key(name=name, key_hash=_digest(key)))
    session.flush()
    return key


def app_actor(session: Session, api_key: str | None) -> Actor | None:
    """The app holding this key, as the submitter of its requests; None for no key or an unknown one."""
    if not api_key or len(api_key) > 100:
        return None
    row = session.scalars(sa.select(Open311Key).where(Open311Key.key_hash == _digest(api_key))).first()
    if row is None or not row.active:
        return None
    return Actor(username=f"{SUBMITTER_PREFIX}{row.name}", role=Role.REPORTER)


# Services ---------------------------------------------------------------------


def services(session: Session) -> list[Category]:
    return list(session.scalars(sa.select(Category).order_by(Category.code)))


def service(session: Session, code: str) -> Category:
    category = session.get(Category, code) if len(code) <= 64 else None
    if category is None:
        raise NotFound(f"no service {code!r}")
    return category


def _choices(prop: Mapping[str, Any]) -> list[dict[str, str]]:
    """The allowed values of a list attribute: `enum`, or `oneOf` of `{const, title}`."""
    if "enum" in prop:
        return [{"key": str(v), "name": str(v)} for v in prop["enum"]]
    return [{"key": str(o["const"]), "name": str(o.get("title", o["const"]))} for o in prop.get("oneOf", [])]


def _datatype(prop: Mapping[str, Any]) -> str:
    if prop.get("type") == "array":
        return "multivaluelist"
    if "enum" in prop or "oneOf" in prop:
        return "singlevaluelist"
    if prop.get("type") in ("number", "integer"):
        return "number"
    if prop.get("format") in ("date", "date-time"):
        return "datetime"
    return "text" if int(prop.get("maxLength", 0)) > 200 else "string"


def attributes(category: Category) -> list[dict[str, Any]]:
    """The category form's properties as GeoReport attributes, in the form's order."""
    form = category.form or {}
    required = set(form.get("required", []))
    found = []
    for order, (code, prop) in enumerate(form.get("properties", {}).items(), start=1):
        kind = _datatype(prop)
        attribute = {
            "variable": True, "code": code, "datatype": kind, "required": code in required,
            "datatype_description": prop.get("description", ""), "order": order,
            "description": prop.get("title", code),
        }  # fmt: skip
        if kind.endswith("valuelist"):
            attribute["values"] = _choices(prop.get("items", {}) if kind == "multivaluelist" else prop)
        found.append(attribute)
    return found


# Filing a request -------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    """The fields of `POST /requests` (form-encoded), attributes keyed by their code."""

    service_code: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, str | list[str]] = field(default_factory=dict)


def _coerce(prop: Mapping[str, Any], value: str | list[str]) -> Any:
    """A form-encoded answer as the type its property declares (left as sent when it does not convert)."""
    kind = prop.get("type")
    if kind == "array":
        return value if isinstance(value, list) else [value]
    text = value[-1] if isinstance(value, list) else value
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _answers(category: Category, given: Mapping[str, str | list[str]]) -> dict[str, Any] | None:
    """The attribute answers checked against the category's form; InvalidData names `attribute[code]`."""
    form = category.form
    if form is None:
        if given:
            problems = {f"attribute[{code}]": ["this service has no attributes"] for code in given}
            raise InvalidData("invalid attributes", problems)
        return None
    props = form.get("properties", {})
    unknown = {f"attribute[{code}]": ["not an attribute of this service"] for code in given if code not in props}
    if unknown:
        raise InvalidData("invalid attributes", unknown)
    data = {code: _coerce(props.get(code, {}), value) for code, value in given.items()}
    try:
        return forms.validate(form, data)
    except InvalidData as exc:
        raise InvalidData("invalid attributes", {f"attribute[{k}]": v for k, v in exc.errors.items()}) from exc


def _check(req: NewRequest) -> None:
    errors: dict[str, list[str]] = {}
    if (req.lat is None) != (req.long is None):
        errors["lat" if req.lat is None else "long"] = ["lat and long go together"]
    elif req.lat is None and not req.address_string and not req.address_id:
        errors["lat"] = ["a location is required: lat and long, address_string or address_id"]
    if req.lat is not None and not -90 <= req.lat <= 90:
        errors["lat"] = ["between -90 and 90"]
    if req.long is not None and not -180 <= req.long <= 180:
        errors["long"] = ["between -180 and 180"]
    if req.description is not None and len(req.description) > MAX_DESCRIPTION:
        errors["description"] = [f"at most {MAX_DESCRIPTION} characters"]
    url = req.media_url
    if url is not None and (not url.startswith(("http://", "https://")) or len(url) > 500):
        errors["media_url"] = ["an http(s) URL of at most 500 characters"]
    if errors:
        raise InvalidData("invalid service request", errors)


def _reporter(req: NewRequest) -> dict[str, Any] | None:
    name = " ".join(p for p in (req.first_name, req.last_name) if p).strip()
    if not (name or req.email or req.phone):
        return None
    reporter: dict[str, Any] = {"name": (name or req.email or req.phone or "")[:200]}
    reporter.update({k: v for k, v in (("email", req.email), ("phone", req.phone)) if v})
    return reporter


def submission(session: Session, app: Actor, req: NewRequest) -> Submission:
    """The complaint a service request files; InvalidData / NotFound name what is wrong."""
    category = service(session, req.service_code)
    _check(req)
    answers = _answers(category, req.attributes)
    place = req.address_string or req.address_id
    where = place or f"{req.lat:.5f}, {req.long:.5f}"
    text = (req.description or "").strip()
    return Submission(
        title=f"{category.name}: {(text.splitlines() or [where])[0]}"[:200],
        body=text or f"{category.name} di {where}",
        category=category.code,
        agency=category.agency,
        location=(place or None) and place[:300],
        channel="open311",
        reporter=_reporter(req),
        reporter_username=app.username,
        latitude=req.lat,
        longitude=req.long,
        attributes=answers,
        media_url=req.media_url,
    )


def file_request(session: Session, app: Actor, req: NewRequest, settings: Settings = DEFAULT_SETTINGS) -> Case:
    """File a service request as a complaint on channel `open311`, submitted by `app` (one transaction)."""
    return start_case(session, submission(session, app, req), app, settings).case


# Reading requests -------------------------------------------------------------


def status_of(case: Case) -> str:
    return "closed" if case.status in FINAL_STATUSES else "open"


def _latest_notes(session: Session, cases: list[Case]) -> dict[int, str]:
    """The latest follow-up message of each case, in one query."""
    query = sa.select(FollowUp.case_id, FollowUp.message).where(FollowUp.case_id.in_([c.id for c in cases]))
    return {case_id: message for case_id, message in session.execute(query.order_by(FollowUp.id))}


def request_views(session: Session, cases: list[Case], app: Actor | None = None) -> list[dict[str, Any]]:
    """Complaints as GeoReport service requests: no reporter identity, whoever asks; the media link only
    to the app that filed it (a photo may show faces: files of a case are never public)."""
    notes = _latest_notes(session, cases) if cases else {}
    names = {c.code: c.name for c in session.scalars(sa.select(Category))}
    names.update({f"agency:{a.code}": a.name for a in session.scalars(sa.select(Agency))})
    return [_view(case, notes.get(case.id), names, app) for case in cases]


def _view(case: Case, note: str | None, names: dict[str, str], app: Actor | None) -> dict[str, Any]:
    expected = case.first_follow_up_due_at if case.status not in FINAL_STATUSES else None
    return {
        "service_request_id": case.tracking_id,
        "status": status_of(case),
        "status_notes": note or case.close_reason or None,
        "service_name": names.get(case.category or ""),
        "service_code": case.category,
        "description": case.body,
        "agency_responsible": names.get(f"agency:{case.agency}") if case.agency else None,
        "service_notice": None,
        "requested_datetime": case.created_at,
        "updated_datetime": case.updated_at,
        "expected_datetime": expected,
        "address": case.location,
        "address_id": None,
        "zipcode": None,
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": case.media_url if app is not None and case.reporter_username == app.username else None,
    }


def get_request(session: Session, app: Actor | None, tracking_id: str) -> Case:
    """A public request, or one the asking app filed; NotFound otherwise."""
    case, _audience = get_for(session, app, tracking_id)
    return case


@dataclass(frozen=True)
class RequestQuery:
    """The filters of `GET /requests`: ids override the rest; dates default to the last 90 days."""

    ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


def _window(query: RequestQuery) -> tuple[datetime, datetime]:
    end = query.end or (query.start + DEFAULT_WINDOW if query.start else utcnow())
    start = query.start or end - DEFAULT_WINDOW
    if start > end:
        raise InvalidData("invalid dates", {"start_date": ["must not be after end_date"]})
    if end - start > DEFAULT_WINDOW:
        raise InvalidData("invalid dates", {"end_date": ["the range may not span more than 90 days"]})
    return start, end


def find_requests(session: Session, app: Actor | None, query: RequestQuery) -> list[Case]:
    """Requests matching `query` that the caller may see, newest first (at most 1000)."""
    visible = public_scope() if app is None else sa.or_(public_scope(), Case.reporter_username == app.username)
    select = sa.select(Case).where(visible).options(defer(Case.state))  # the workflow is not needed here
    if query.ids:
        select = select.where(Case.tracking_id.in_(query.ids[:MAX_RESULTS]))
    else:
        start, end = _window(query)
        select = select.where(Case.created_at >= start, Case.created_at <= end)
        if query.service_codes:
            select = select.where(Case.category.in_(query.service_codes))
        if query.statuses:
            select = select.where(_status_clause(query.statuses))
    return list(session.scalars(select.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)))


def _status_clause(statuses: list[str]) -> sa.ColumnElement[bool]:
    final = [s.value for s in FINAL_STATUSES]
    unknown = set(statuses) - {"open", "closed"}
    if unknown:
        raise InvalidData("invalid status", {"status": ["open, closed or both (comma-separated)"]})
    clauses = []
    if "open" in statuses:
        clauses.append(Case.status.not_in(final))
    if "closed" in statuses:
        clauses.append(Case.status.in_(final))
    return sa.or_(*clauses)


# Tokens -----------------------------------------------------------------------


def token_for(tracking_id: str, secret: str) -> str:
    """A token answered at filing; `tokens/{token}` turns it back into the request id."""
    mac = hmac.new(secret.encode(), f"open311-token:{tracking_id}".encode(), hashlib.sha256).digest()[:12]
    raw = tracking_id.encode() + b"." + mac
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def tracking_id_of(token: str, secret: str) -> str:
    """The request id a token names; NotFound for anything this server did not issue."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        tracking_id = raw[: raw.index(b".")].decode()
    except ValueError as exc:
        raise NotFound("no such token") from exc
    if len(token) > 100 or not hmac.compare_digest(token_for(tracking_id, secret), token):
        raise NotFound("no such token")
    return tracking_id
