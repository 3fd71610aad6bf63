"""Who sees which complaint, and how much of it. Every lookup by tracking id goes through `get_for`.

Audiences (Perpres 76/2013): the public sees verified, non-confidential complaints without any reporter
identity; the reporter (token or account) sees their own; agency staff see cases disposed to their
subtree, with the reporter's identity unless anonymous; the verifiers' desk (verifiers, desk supervisors)
sees every case of its jurisdiction, identity included; auditors and admins see everything.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.access import Actor
from engine.cases import Case, Status, hash_token
from engine.directory import Agency, in_subtree, jurisdiction, subtree_clause
from engine.errors import Forbidden, NotFound


class Audience(StrEnum):
    PUBLIC = "public"
    REPORTER = "reporter"
    AGENCY = "agency"
    DESK = "desk"
    AUDITOR = "auditor"


PUBLIC_STATUSES = frozenset({Status.DISPOSITIONED, Status.IN_PROGRESS, Status.AWAITING_REPORTER, Status.CLOSED})
SEES_IDENTITY = frozenset({Audience.REPORTER, Audience.DESK, Audience.AUDITOR})
EVERYTHING = frozenset({"auditor", "admin"})
JURISDICTION_ROLES = frozenset({"verifier", "process_owner"})


def is_public(case: Case) -> bool:
    """Verified, not confidential, not archived: may appear in public views."""
    return not case.confidential and case.status in PUBLIC_STATUSES


def public_scope() -> sa.ColumnElement[bool]:
    """SQL form of `is_public`, for public lists."""
    return sa.and_(Case.confidential.is_(False), Case.status.in_([s.value for s in PUBLIC_STATUSES]))


def works_at_desk(session: Session, actor: Actor) -> bool:
    """Verifiers, process owners and supervisors of a desk agency work on the whole jurisdiction."""
    if actor.role in JURISDICTION_ROLES:
        return True
    agency = session.get(Agency, actor.agency) if actor.agency else None
    return actor.role == "supervisor" and agency is not None and agency.desk


def staff_audience(session: Session, actor: Actor, case: Case) -> Audience | None:
    """How a signed-in staff member sees `case`, or None when it is outside their scope."""
    if actor.role in EVERYTHING:
        return Audience.AUDITOR
    if actor.agency is None:
        return None
    if works_at_desk(session, actor) and in_subtree(case.desk, jurisdiction(actor.agency)):
        return Audience.AGENCY if actor.role == "process_owner" else Audience.DESK
    if actor.role in ("officer", "supervisor") and in_subtree(case.agency, actor.agency):
        return Audience.AGENCY
    return None


def audience_for(session: Session, actor: Actor | None, case: Case, reporter_token: str | None) -> Audience | None:
    """The widest view the caller has of `case`, or None when they may not see it at all."""
    if actor is not None and actor.role != "reporter":
        audience = staff_audience(session, actor, case)
        if audience is not None:
            return audience
    if actor is not None and actor.role == "reporter" and case.reporter_username == actor.username:
        return Audience.REPORTER
    if reporter_token and hmac.compare_digest(hash_token(reporter_token), case.reporter_token_hash):
        return Audience.REPORTER
    return Audience.PUBLIC if is_public(case) else None


def get_for(
    session: Session, actor: Actor | None, tracking_id: str, reporter_token: str | None = None
) -> tuple[Case, Audience]:
    """The case and the caller's audience; NotFound when it does not exist *or* is not visible to them."""
    case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id[:40])).first()
    audience = audience_for(session, actor, case, reporter_token) if case is not None else None
    if case is None or audience is None:
        raise NotFound(f"no complaint {tracking_id!r}")
    return case, audience


def staff_scope(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition selecting the cases a staff member may list."""
    if actor.role in EVERYTHING:
        return sa.true()
    if actor.agency is None or actor.role == "reporter":
        return sa.false()
    if works_at_desk(session, actor):
        return subtree_clause(Case.desk, jurisdiction(actor.agency))
    return subtree_clause(Case.agency, actor.agency)


def sees_attachments(audience: Audience) -> bool:
    """Files may show faces, documents, addresses: never in a public view, only to the case's people."""
    return audience != Audience.PUBLIC


def reporter_view(case: Case, audience: Audience) -> dict[str, Any] | None:
    """The reporter's identity as this audience may see it (None = the field is absent)."""
    if case.reporter is None:
        return None
    if audience in SEES_IDENTITY or (audience == Audience.AGENCY and not case.anonymous):
        return dict(case.reporter)
    return None


INCIDENT_READERS = frozenset({"process_owner", "auditor", "admin"})


def incident_scope(session: Session, actor: Actor) -> sa.ColumnElement[bool] | None:
    """Cases whose incidents `actor` may list (None: every case); Forbidden for roles that see none.

    Process owners see their jurisdiction's cases and every intake incident (no case: no reporter data);
    auditors and admins see all.
    """
    if actor.role not in INCIDENT_READERS:
        raise Forbidden("incidents are for process owners and auditors")
    return None if actor.role in EVERYTHING else staff_scope(session, actor)
