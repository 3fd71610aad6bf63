"""Tasks: the caller's inbox, one task with its form, claim, complete."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api import views
from api.auth import require, staff
from api.extensions import db
from api.schemas.tasks import CompletedSchema, CompleteSchema, InboxQuerySchema, TaskDetailSchema, TaskSchema
from engine import lifecycle, processes, tasks
from engine.cases import Case
from engine.visibility import staff_audience

blp = Blueprint("tasks", __name__, description="User tasks of the lifecycle")
TASK_ROLES = ("verifier", "officer", "supervisor")


@blp.route("/tasks")
class Inbox(MethodView):
    @require(*TASK_ROLES)
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """READY tasks the caller may do, earliest deadline first (`?assigned=me`: only the caller's)."""
        select = tasks.inbox_query(staff(), query.get("assigned") == "me").limit(query["limit"])
        select = select.add_columns(Case).join(Case, Case.id == tasks.TaskRecord.case_id)
        return [views.task(row, case) for row, case in db.session.execute(select)]


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
        detail["case"] = views.complaint(db.session(), case, audience) if audience else views.summary(case)
        return detail


@blp.route("/tasks/<task_id>/claim")
class Claim(MethodView):
    @require(*TASK_ROLES)
    @blp.response(200, TaskSchema)
    @blp.alt_response(409, description="Claimed by someone else, or no longer ready")
    def post(self, task_id: str) -> dict[str, Any]:
        """Take the task: others see it as yours and cannot complete it."""
        row = lifecycle.claim_task(db.session(), staff(), task_id)
        return views.task(row, db.session.get_one(Case, row.case_id))


@blp.route("/tasks/<task_id>/complete")
class Complete(MethodView):
    @require(*TASK_ROLES)
    @blp.arguments(CompleteSchema)
    @blp.response(200, CompletedSchema)
    @blp.alt_response(409, description="No longer ready, or claimed by someone else")
    @blp.alt_response(422, description="The data does not satisfy the task's form")
    def post(self, body: dict[str, Any], task_id: str) -> dict[str, Any]:
        """Complete the task with data valid against its form; answers the tasks that opened."""
        settings = current_app.extensions["aduan.settings"]
        files = body.get("attachments")
        outcome = lifecycle.complete_task(db.session(), staff(), task_id, body["data"], settings, files)
        case = outcome.case
        return {
            "complaint": {"tracking_id": case.tracking_id, "status": case.status},
            "next_tasks": [views.task(t, case) for t in outcome.next_tasks],
        }
