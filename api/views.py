"""Turn engine rows into the dicts the response schemas dump, fitted to the caller's audience."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import attachments
from engine.cases import Case, follow_ups
from engine.lifecycle import Outcome
from engine.processes import ProcessVersion
from engine.tasks import TaskRecord
from engine.visibility import Audience, reporter_view, sees_attachments

SUMMARY_FIELDS = (
    "tracking_id", "status", "kind", "title", "category", "agency", "anonymous", "confidential", "escalated",
    "created_at", "updated_at",
)  # fmt: skip
DETAIL_FIELDS = (*SUMMARY_FIELDS, "body", "location", "occurred_on", "channel", "close_reason", "rating")


def summary(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in SUMMARY_FIELDS}


def complaint(session: Session, case: Case, audience: Audience) -> dict[str, Any]:
    """The complaint as `audience` may see it: absent keys are what it may not."""
    view = {name: getattr(case, name) for name in DETAIL_FIELDS}
    version = session.get(ProcessVersion, case.process_version_id)
    if version is not None:
        view["process_key"], view["process_version"] = version.key, version.version
    view["follow_ups"] = [{"at": f.at, "agency": f.agency, "message": f.message} for f in follow_ups(session, case)]
    if sees_attachments(audience):
        view["attachments"] = attachments.list_for(session, case)
    return _with_reporter(view, case, audience)


def created(outcome: Outcome, audience: Audience) -> dict[str, Any]:
    """A case `start_case` has just written, as `complaint` shows it, from the command's result (no reads:
    a new case has only the follow-ups its first steps wrote and no attachments yet)."""
    case = outcome.case
    view = {name: getattr(case, name) for name in DETAIL_FIELDS}
    view["process_key"], view["process_version"] = outcome.process
    view["follow_ups"] = [{"at": f["at"], "agency": f["agency"], "message": f["message"]} for f in outcome.follow_ups]
    if sees_attachments(audience):
        view["attachments"] = []
    return _with_reporter(view, case, audience)


def _with_reporter(view: dict[str, Any], case: Case, audience: Audience) -> dict[str, Any]:
    reporter = reporter_view(case, audience)
    if reporter is not None:
        view["reporter"] = reporter
    return view


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
