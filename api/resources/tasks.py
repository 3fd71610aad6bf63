"""Tasks: the caller's inbox, one task with its form, claim, complete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api import views
from api.auth import require, staff
from api.extensions import db
from api.idempotency import DOC as IDEMPOTENCY_DOC
from api.idempotency import idempotent
from api.schemas.tasks import CompletedSchema, CompleteSchema, InboxQuerySchema, TaskDetailSchema, TaskSchema
from engine.cases import lifecycle, tasks
from engine.cases.case import Case
from engine.cases.visibility import staff_audience
from engine.db import utcnow
from engine.processes import registry as processes

blp = Blueprint("tasks", __name__, description="User tasks of the lifecycle")
TASK_ROLES = ("verifier", "officer", "supervisor")
NEXT_CURSOR = "X-Next-Cursor"
CURSOR_HEADER = {NEXT_CURSOR: {"description": "with ?since: the cursor to pass next", "schema": {"type": "string"}}}


@blp.route("/tasks")
class Inbox(MethodView):
    @require(*TASK_ROLES)
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True), headers=CURSOR_HEADER)
    def get(self, query: dict[str, Any]) -> Any:
        """READY tasks the caller may do, earliest deadline first (`?assigned=me`: only the caller's).

        `?since=<cursor>` (empty: from the beginning) lists instead the tasks opened after the cursor, in
        the order they opened, and answers the cursor to pass next time in `X-Next-Cursor`: an agency
        system polls this to learn of new work.
        """
        if "since" in query:
            return _opened_since(query["since"], query["limit"])
        select = tasks.inbox_query(staff(), query.get("assigned") == "me").limit(query["limit"])
        select = select.add_columns(Case).join(Case, Case.id == tasks.TaskRecord.case_id)
        return [views.task(row, case) for row, case in db.session.execute(select)]


def _opened_since(cursor: str, limit: int) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    settle = timedelta(seconds=float(current_app.config["TASK_CURSOR_SETTLE_SECONDS"]))
    select = tasks.opened_since(staff(), cursor, utcnow() - settle).limit(limit)
    select = select.add_columns(Case).join(Case, Case.id == tasks.TaskRecord.case_id)
    rows = db.session.execute(select).all()
    following = tasks.encode_cursor(rows[-1][0]) if rows else cursor
    return [views.task(row, case) for row, case in rows], 200, {NEXT_CURSOR: following}


def _task_and_case(task_id: str) -> tuple[tasks.TaskRecord, Case]:
    row = tasks.get_task(db.session(), staff(), task_id)
    return row, db.session.get_one(Case, row.case_id)


@blp.route("/tasks/<task_id>")
class TaskItem(MethodView):
    @require(*TASK_ROLES)
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id: str) -> dict[str, Any]:
        """The task, its form (JSON Schema of the completion data) and the complaint it is about."""
        row, case = _task_and_case(task_id)
        version = db.session.get_one(processes.ProcessVersion, case.process_version_id)
        audience = staff_audience(db.session(), staff(), case)
        detail = views.task(row, case)
        detail["form"] = processes.parsed_for(version).forms.get(row.form, {})
        detail["proposal"] = row.proposal or {}
        detail["case"] = views.complaint(db.session(), case, audience) if audience else views.summary(case)
        return detail


@blp.route("/tasks/<task_id>/claim")
class Claim(MethodView):
    @require(*TASK_ROLES)
    @idempotent
    @blp.doc(**IDEMPOTENCY_DOC)
    @blp.response(200, TaskSchema)
    @blp.alt_response(422, description="A malformed Idempotency-Key, or one used for another request")
    @blp.alt_response(409, description="Claimed by someone else, or no longer ready")
    def post(self, task_id: str) -> dict[str, Any]:
        """Take the task: others see it as yours and cannot complete it.

        With an `Idempotency-Key` header a retry answers the first answer (`Idempotent-Replayed: true`).
        """
        row = lifecycle.claim_task(db.session(), staff(), task_id)
        return views.task(row, db.session.get_one(Case, row.case_id))


@blp.route("/tasks/<task_id>/complete")
class Complete(MethodView):
    @require(*TASK_ROLES)
    @idempotent
    @blp.doc(**IDEMPOTENCY_DOC)
    @blp.arguments(CompleteSchema)
    @blp.response(200, CompletedSchema)
    @blp.alt_response(409, description="No longer ready, or claimed by someone else")
    @blp.alt_response(422, description="The data does not satisfy the task's form")
    def post(self, body: dict[str, Any], task_id: str) -> dict[str, Any]:
        """Complete the task with data valid against its form; answers the tasks that opened.

        With an `Idempotency-Key` header a retried request answers the first completion's answer
        (`Idempotent-Replayed: true`) and completes nothing again; the same key with another body is 422.
        """
        settings = current_app.extensions["aduan.settings"]
        files = body.get("attachments")
        outcome = lifecycle.complete_task(db.session(), staff(), task_id, body["data"], settings, files)
        case = outcome.case
        return {
            "complaint": {"tracking_id": case.tracking_id, "status": case.status},
            "next_tasks": [views.task(t, case) for t in outcome.next_tasks],
        }
