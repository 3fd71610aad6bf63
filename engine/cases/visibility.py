"""Who sees which complaint, and how much of it. Every lookup by tracking id goes through `get_for`.

Audiences (Perpres 76/2013): the public sees verified, non-confidential complaints without any reporter
identity; the reporter (token or account) sees their own; agency staff see cases disposed to their
subtree (and the staff member who typed a complaint in sees that one), with the reporter's identity unless
anonymous; the verifiers' desk (verifiers, desk supervisors)
sees every case of its jurisdiction, identity included; auditors and admins see everything.

Process owners design the lifecycle; they do not handle complaints (least privilege): no complaint, no
reporter identity, no attachment is visible to them. They see aggregate figures over their jurisdiction
(`figures_scope`) and move its running cases between versions by tracking id (`get_for_migration`), whose
reports name cases by tracking id and status only.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases.access import Actor
from engine.cases.case import Case, Status, hash_token
from engine.conversation.models import MessageAudience  # the module: engine.conversation imports this one
from engine.directory.agencies import Agency, in_subtree, jurisdiction, subtree_clause
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
DESIGNERS = frozenset({"process_owner"})  # see processes, versions, incidents and figures; never a complaint


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
    if actor.agency is None or actor.role in DESIGNERS:
        return None
    if works_at_desk(session, actor) and in_subtree(case.desk, jurisdiction(actor.agency)):
        return Audience.DESK
    if actor.role in ("officer", "supervisor") and in_subtree(case.agency, actor.agency):
        return Audience.AGENCY
    if case.entered_by is not None and case.entered_by == actor.username:
        return Audience.AGENCY  # the clerk who typed in a slip or a call may open it (to attach the scan)
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


def get_for_migration(session: Session, actor: Actor, tracking_id: str) -> Case:
    """A case a process owner (or admin) may move to another version: in their jurisdiction; NotFound otherwise.

    The caller gets the row to run the migration on, not a view of it: nothing of it is shown but its
    tracking id, status and versions.
    """
    case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id[:40])).first()
    if case is None or not session.scalar(
        sa.select(sa.literal(True)).where(figures_scope(session, actor), Case.id == case.id)
    ):
        raise NotFound(f"no complaint {tracking_id!r}")
    return case


def figures_scope(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition selecting the cases counted in the actor's aggregate figures (and, for a process
    owner, the cases they may migrate): a process owner's whole jurisdiction, else what they may list."""
    if actor.role in DESIGNERS:
        return subtree_clause(Case.desk, jurisdiction(actor.agency)) if actor.agency else sa.false()
    return staff_scope(session, actor)


def staff_scope(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition selecting the cases a staff member may list (a process owner: none)."""
    if actor.role in EVERYTHING:
        return sa.true()
    if actor.agency is None or actor.role == "reporter" or actor.role in DESIGNERS:
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


def message_audiences(audience: Audience) -> tuple[MessageAudience, ...]:
    """Which messages of a thread a viewer reads: staff in scope and auditors all of it; the reporter,
    and the public where the case is public, only what is meant for the reporter."""
    if audience in (Audience.REPORTER, Audience.PUBLIC):
        return (MessageAudience.REPORTER,)
    return (MessageAudience.REPORTER, MessageAudience.STAFF)


def sees_message_author(case: Case, audience: Audience, author_role: str) -> bool:
    """A reporter's name goes only where their identity may (never to an agency on an anonymous case);
    a staff member's name only to staff and auditors (the reporter and public see the role)."""
    if author_role == "reporter":
        return audience in SEES_IDENTITY or (audience == Audience.AGENCY and not case.anonymous)
    return audience in (Audience.AGENCY, Audience.DESK, Audience.AUDITOR)


def sees_message_attachments(audience: Audience, author_role: str) -> bool:
    """Staff's files on a reporter message (the photo of the cleaned street) are public where the case
    is; a reporter's own files stay with the case's people (`sees_attachments`)."""
    return sees_attachments(audience) or author_role != "reporter"


INCIDENT_READERS = frozenset({"process_owner", "auditor", "admin"})


def incident_scope(session: Session, actor: Actor) -> sa.ColumnElement[bool] | None:
    """Cases whose incidents `actor` may list (None: every case); Forbidden for roles that see none.

    Process owners see their jurisdiction's cases and every intake incident (no case: no reporter data);
    auditors and admins see all.
    """
    if actor.role not in INCIDENT_READERS:
        raise Forbidden("incidents are for process owners and auditors")
    return None if actor.role in EVERYTHING else figures_scope(session, actor)  # a process owner: the jurisdiction
