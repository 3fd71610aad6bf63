"""The directory: agencies (a tree encoded in dotted codes) and staff users.

An agency's code extends its parent's: `batam` → `batam.dinkes` → `batam.dinkes.puskesmas-sekupang`, so
"within the subtree of X" is `code = X OR code LIKE 'X.%'`, one indexed comparison. A *desk* agency hosts
the verifiers of its jurisdiction (the tree under its root), e.g. `batam.diskominfo` for all of `batam`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, QueryableAttribute, Session, mapped_column

from engine.db import Base, UTCDateTime, utcnow
from engine.errors import InvalidData, NotFound

CODE_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class Agency(Base):
    """A government body or unit (instansi, perangkat daerah, unit kerja)."""

    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("agency.code"), index=True)
    desk: Mapped[bool] = mapped_column(default=False)
    # answers through its own system (engine.channels.clients): cases disposed to it are handed over
    external: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def in_subtree(code: str | None, root: str) -> bool:
    """Whether agency `code` is `root` or one of its descendants."""
    return code is not None and (code == root or code.startswith(root + "."))


def subtree_clause(column: QueryableAttribute[Any], root: str | None) -> sa.ColumnElement[bool]:
    """SQL form of `in_subtree` for scoping queries (no root: nothing matches)."""
    if root is None:
        return sa.false()
    escaped = root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.or_(column == root, column.like(escaped + ".%", escape="\\"))


def jurisdiction(code: str) -> str:
    """The government at the top of an agency's branch (`batam.diskominfo` → `batam`)."""
    return code.split(".", 1)[0]


def validate_code(code: str, parent: str | None) -> None:
    """Raise InvalidData unless `code` is a well-formed child code of `parent` (or a root code)."""
    segments = code.split(".")
    if not all(CODE_SEGMENT.fullmatch(s) for s in segments):
        raise InvalidData("invalid agency code", {"code": ["lower-case letters, digits and '-', dot-separated"]})
    expected_parent = ".".join(segments[:-1]) or None
    if expected_parent != parent:
        raise InvalidData(
            "agency code does not extend its parent's",
            {"code": [f"must be '<parent>.<name>' with parent {parent!r}" if parent else "a root code has no dot"]},
        )


def create_agency(session: Session, code: str, name: str, parent: str | None = None, desk: bool = False) -> Agency:
    """Add an agency under `parent` (flushes; the caller commits)."""
    validate_code(code, parent)
    if parent is not None and session.get(Agency, parent) is None:
        raise InvalidData("unknown parent agency", {"parent": [f"no agency {parent!r}"]})
    if session.get(Agency, code) is not None:
        raise InvalidData("agency exists", {"code": [f"{code!r} already exists"]})
    agency = Agency(code=code, name=name, parent_code=parent, desk=desk)
    session.add(agency)
    session.flush()
    return agency


def get_agency(session: Session, code: str) -> Agency:
    agency = session.get(Agency, code)
    if agency is None:
        raise NotFound(f"no agency {code!r}")
    return agency


def desk_for(session: Session, agency_code: str | None, default_jurisdiction: str | None = None) -> Agency:
    """The verifiers' desk responsible for a complaint about `agency_code` (or the default jurisdiction).

    With neither, the only desk there is serves; with several desks and nothing to choose by, the complaint
    is refused (InvalidData naming `agency`): giving it to whichever desk sorts first would show it to the
    wrong government.
    """
    root = jurisdiction(agency_code) if agency_code else default_jurisdiction
    query = sa.select(Agency).where(Agency.desk.is_(True)).order_by(Agency.code)
    if root is not None:
        desk = session.scalars(query.where(subtree_clause(Agency.code, root)).limit(1)).first()
        if desk is None:
            raise InvalidData("no verification desk", {"agency": [f"no desk agency serves {root}"]})
        return desk
    desks = session.scalars(query.limit(2)).all()
    if len(desks) != 1:
        reason = "no desk agency exists" if not desks else "name the agency or a category: several desks could serve"
        raise InvalidData("no verification desk", {"agency": [reason]})
    return desks[0]


def set_external(session: Session, code: str, external: bool) -> Agency:
    """Mark an agency as answering through its own integrated system, or not (flushes; the caller commits)."""
    agency = get_agency(session, code)
    agency.external = external
    session.flush()
    return agency
