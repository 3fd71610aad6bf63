"""Turn engine rows into the dicts the response schemas dump, fitted to the caller's audience."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import conversation, places
from engine.cases import attachments
from engine.cases.case import Case, follow_ups
from engine.cases.lifecycle import Outcome
from engine.cases.tasks import TaskRecord
from engine.cases.visibility import (
    Audience,
    message_audiences,
    reporter_view,
    sees_attachments,
    sees_message_attachments,
    sees_message_author,
)
from engine.processes.registry import ProcessVersion

SUMMARY_FIELDS = (
    "tracking_id", "status", "kind", "title", "category", "agency", "anonymous", "confidential", "escalated",
    "created_at", "updated_at",
)  # fmt: skip
STAFF_AUDIENCES = frozenset({Audience.AGENCY, Audience.DESK, Audience.AUDITOR})
DETAIL_FIELDS = (
    *SUMMARY_FIELDS, "body", "location", "latitude", "longitude", "area", "occurred_on", "channel", "close_reason",
    "rating",
)  # fmt: skip


def summary(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in SUMMARY_FIELDS}


def complaint(session: Session, case: Case, audience: Audience) -> dict[str, Any]:
    """The complaint as `audience` may see it: absent keys are what it may not."""
    view = {name: getattr(case, name) for name in DETAIL_FIELDS}
    version = session.get(ProcessVersion, case.process_version_id)
    if version is not None:
        view["process_key"], view["process_version"] = version.key, version.version
    view["supporters"] = places.supporters(session, [case.id]).get(case.id, 0)
    view["follow_ups"] = [{"at": f.at, "agency": f.agency, "message": f.message} for f in follow_ups(session, case)]
    files = {a.id: a for a in attachments.list_for(session, case)}
    if sees_attachments(audience):  # files, a linked photo and form answers: the case's people only
        view["attachments"] = list(files.values())
    if audience in STAFF_AUDIENCES:
        view["entered_by"] = case.entered_by
        view.update(attributes=case.attributes, media_url=case.media_url)
    view["messages"] = messages(session, case, audience, files)
    return _with_reporter(view, case, audience)


def created(outcome: Outcome, audience: Audience) -> dict[str, Any]:
    """A case `start_case` has just written, as `complaint` shows it, from the command's result (no reads:
    a new case has only the follow-ups its first steps wrote, and no supporters, attachments or messages yet)."""
    case = outcome.case
    view = {name: getattr(case, name) for name in DETAIL_FIELDS}
    view["process_key"], view["process_version"] = outcome.process
    view["supporters"] = 0
    view["follow_ups"] = [{"at": f["at"], "agency": f["agency"], "message": f["message"]} for f in outcome.follow_ups]
    if sees_attachments(audience):
        view["attachments"] = []
    if audience in STAFF_AUDIENCES:
        view["entered_by"] = case.entered_by
        view.update(attributes=case.attributes, media_url=case.media_url)
    view["messages"] = []
    return _with_reporter(view, case, audience)


def _with_reporter(view: dict[str, Any], case: Case, audience: Audience) -> dict[str, Any]:
    reporter = reporter_view(case, audience)
    if reporter is not None:
        view["reporter"] = reporter
    return view


def messages(
    session: Session, case: Case, audience: Audience, files: dict[int, attachments.Attachment]
) -> list[dict[str, Any]]:
    """The case's thread as `audience` may read it, oldest first."""
    shown = []
    for m in conversation.thread(session, case, message_audiences(audience)):
        item: dict[str, Any] = {"id": m.id, "at": m.at, "author_role": m.author_role, "audience": m.audience}
        if sees_message_author(case, audience, m.author_role):
            item["author"] = m.author
        item["body"] = m.body
        visible = sees_message_attachments(audience, m.author_role)
        item["attachments"] = [files[i] for i in m.attachments if i in files] if visible else []
        shown.append(item)
    return shown


def task(row: TaskRecord, case: Case) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "title": row.title,
        "role": row.role,
        "agency": row.agency,
        "due_at": row.due_at,
        "assignee": row.assignee,
        "state": row.state,
        "complaint": {"tracking_id": case.tracking_id, "title": case.title, "status": case.status},
    }
