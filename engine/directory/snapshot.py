"""The configuration snapshot, its token row and the listeners that replace the token on every change.

Contract: `current(session, token)` returns a snapshot equal to what the tables held when `token` was read
(pass the token read by the command's first statement, or none to read it here with one SELECT). The token
is read before the tables, so a change committed meanwhile can only make the next command reload again.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from engine.calendar.days import CalendarDay, DayKind
from engine.calendar.working_days import WorkingCalendar
from engine.db import Base, first_column
from engine.directory.agencies import Agency, in_subtree, jurisdiction
from engine.directory.categories import Category
from engine.directory.users import User
from engine.errors import InvalidData
from engine.notify.webhooks import WebhookEndpoint
from engine.processes.registry import Kind, ParsedProcess, ProcessVersion, effective
from engine.settings import Settings


class ConfigVersion(Base):
    """One row: a random token replaced by every configuration change (random, so a table emptied and
    filled again can never bring back a token some process still holds)."""

    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32))


TOKEN = sa.select(ConfigVersion.token).where(ConfigVersion.id == 1).scalar_subquery().label("config_token")
CONFIG_TABLES = frozenset(
    t.__tablename__ for t in (CalendarDay, Agency, Category, ProcessVersion, WebhookEndpoint, User)
)
STAFF_ROLES = frozenset({"verifier", "officer", "supervisor"})
_READ_TOKEN = sa.text("SELECT token FROM config_version WHERE id = 1")


@dataclass(frozen=True)
class Staff:
    username: str
    email: str | None
    phone: str | None


@dataclass
class Snapshot:
    """Configuration as of one token. Never changed after loading, except the memo of parsed versions."""

    token: str | None
    holidays: dict[date, str]
    working_days: frozenset[date]
    desks: tuple[str, ...]  # desk agency codes, sorted
    agencies: frozenset[str]
    external: frozenset[str]  # agencies whose own systems take over a case disposed to them (engine.channels)
    categories: dict[str, str | None]  # category code -> the agency it is routed to by default
    active: dict[str, int]  # lifecycle key -> active version id
    numbers: dict[int, tuple[str, int]]  # active lifecycle version id -> (key, version number)
    decisions: dict[str, ProcessVersion]  # detached, columns loaded
    endpoints: tuple[tuple[int, str], ...]  # (id, agency) of active webhook endpoints
    staff: dict[tuple[str, str], tuple[Staff, ...]]
    _parsed: dict[int, ParsedProcess] = field(default_factory=dict)

    def calendar(self, settings: Settings) -> WorkingCalendar:
        return WorkingCalendar(
            timezone=settings.timezone,
            extra_holidays=self.holidays,
            extra_working_days=self.working_days,
            include_collective_leave=settings.include_collective_leave,
        )

    def desk_for(self, agency_code: str | None, default_jurisdiction: str | None) -> str:
        """Same answer as `engine.directory.agencies.desk_for`, from memory."""
        root = jurisdiction(agency_code) if agency_code else default_jurisdiction
        if root is not None:
            for code in self.desks:
                if in_subtree(code, root):
                    return code
            raise InvalidData("no verification desk", {"agency": [f"no desk agency serves {root}"]})
        if len(self.desks) != 1:
            reason = (
                "no desk agency exists"
                if not self.desks
                else "name the agency or a category: several desks could serve"
            )
            raise InvalidData("no verification desk", {"agency": [reason]})
        return self.desks[0]

    def parsed(self, session: Session, version_id: int) -> ParsedProcess:
        """The executable form of a lifecycle version, shared decisions bound to the active ones."""
        parsed = self._parsed.get(version_id)
        if parsed is None:
            version = session.get_one(ProcessVersion, version_id)
            parsed = effective(version, self.decisions)
            self._parsed[version_id] = parsed
        return parsed

    def endpoints_for(self, agency: str | None, desk: str | None) -> list[int]:
        return [i for i, root in self.endpoints if in_subtree(agency, root) or in_subtree(desk, root)]

    def staff_for(self, role: str, agency: str | None) -> tuple[Staff, ...]:
        """Active staff of `role` at `agency` or its nearest ancestor that has any (as notify.staff_for)."""
        parts = agency.split(".") if agency else []
        for n in range(len(parts), 0, -1):
            found = self.staff.get((role, ".".join(parts[:n])))
            if found:
                return found
        return ()


_LOCK = threading.Lock()
_CACHE: dict[str, Snapshot] = {}  # by database URL


def current(session: Session, token: Any = False) -> Snapshot:
    """The snapshot for `token` (False: read the token now), loading it when the cached one is older."""
    if token is False:
        found = first_column(session.connection(), _READ_TOKEN, {})  # on the driver's cursor: one scalar
        token = found[0] if found else None
    key = str(session.get_bind().engine.url)
    cached = _CACHE.get(key)
    if cached is not None and cached.token == token:
        return cached
    snapshot = _load(session, token)
    with _LOCK:
        _CACHE[key] = snapshot
    return snapshot


def _load(session: Session, token: str | None) -> Snapshot:
    days = session.execute(sa.select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)).all()
    agencies = session.execute(sa.select(Agency.code, Agency.desk, Agency.external).order_by(Agency.code)).all()
    pv = ProcessVersion
    versions = session.execute(sa.select(pv.id, pv.key, pv.kind, pv.hash, pv.version).where(pv.active.is_(True))).all()
    endpoints = session.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.agency).where(WebhookEndpoint.active.is_(True))
    ).all()
    staff: dict[tuple[str, str], list[Staff]] = {}
    people = sa.select(User.username, User.role, User.agency, User.email, User.phone).where(
        User.active.is_(True), User.role.in_(STAFF_ROLES), User.agency.is_not(None)
    )
    for username, role, agency, email, phone in session.execute(people.order_by(User.username)):
        staff.setdefault((role, agency or ""), []).append(Staff(username, email, phone))
    decisions = {  # transient copies: nothing a later commit of this session could expire
        v.key: ProcessVersion(id=v.id, key=v.key, kind=v.kind, hash=v.hash, source=source)
        for v in versions
        if v.kind == Kind.DECISION
        for source in [session.scalar(sa.select(pv.source).where(pv.id == v.id))]
    }
    return Snapshot(
        token=token,
        holidays={d: n for d, k, n in days if k == DayKind.HOLIDAY},
        working_days=frozenset(d for d, k, _n in days if k == DayKind.WORKING),
        desks=tuple(code for code, desk, _external in agencies if desk),
        agencies=frozenset(code for code, _desk, _external in agencies),
        external=frozenset(code for code, _desk, external in agencies if external),
        categories={code: agency for code, agency in session.execute(sa.select(Category.code, Category.agency))},
        active={v.key: v.id for v in versions if v.kind != Kind.DECISION},
        numbers={v.id: (v.key, v.version) for v in versions if v.kind != Kind.DECISION},
        decisions=decisions,
        endpoints=tuple((i, a) for i, a in endpoints),
        staff={k: tuple(v) for k, v in staff.items()},
    )


# Invalidation -----------------------------------------------------------------------------------------


def bump(session: Session) -> None:
    """Replace the token in the caller's transaction (an upsert: the row may be gone after a TRUNCATE)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(ConfigVersion).values(id=1, token=uuid.uuid4().hex)
    session.connection().execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"token": stmt.excluded.token}))


def _is_config(obj: object) -> bool:
    if isinstance(obj, User):  # reporters signing up change nothing a command consults
        role = sa.inspect(obj).attrs.role.history  # a staff member moved to another role leaves the directory
        return any(r in STAFF_ROLES for r in (obj.role, *role.deleted))
    return getattr(obj, "__tablename__", None) in CONFIG_TABLES


@sa.event.listens_for(Session, "before_flush")
def _bump_on_flush(session: Session, flush_context: Any, instances: Any) -> None:
    changed = [*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))]
    if any(_is_config(o) for o in changed):
        bump(session)


@sa.event.listens_for(Session, "do_orm_execute")
def _bump_on_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in CONFIG_TABLES:
        bump(state.session)
