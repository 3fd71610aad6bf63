"""Staff pages: sign in and out, the inbox, a task with its form (claim, complete), the list of cases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _

from api import views
from api.extensions import budget, db, limiter
from api.resources.complaints import filters
from api.resources.directory import visible_users
from api.schemas.complaints import STATUSES
from api.web import forms, i18n
from api.web.blueprint import bp
from api.web.common import agencies, categories, settings
from api.web.login import STAFF_ROLES, TASK_ROLES, safe_next, sign_in, sign_out, staff, staff_required
from api.web.public import store_files, uploads
from engine import conversation
from engine.cases import attachments, lifecycle, tasks
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.visibility import staff_audience, staff_scope
from engine.db import utcnow
from engine.directory import signin
from engine.directory.agencies import in_subtree
from engine.errors import Conflict, InvalidData, Throttled
from engine.processes import registry as processes

PER_PAGE = 25
INBOX_LIMIT = 200


login_limit = budget("LOGIN_RATE_LIMIT")


def throttled_message(refused: Throttled) -> str:
    """What the sign-in page tells a throttled user: locked (until when) or wait a little."""
    if refused.locked_until is not None:
        until = format_datetime(refused.locked_until, "short")
        return str(_("Too many failed sign-ins: this account is locked until %(until)s.", until=until))
    return str(_("Too many failed sign-ins. Wait %(seconds)s seconds and try again.", seconds=refused.retry_after))


def landing(actor: Actor) -> str:
    """Where each role starts: the inbox for those who do tasks, otherwise their own desk."""
    if actor.role in TASK_ROLES:
        return url_for("web.inbox")
    if actor.role == "process_owner":
        return url_for("web.process_list")
    return url_for("web.case_list")


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Staff sign in with their username and password (the same accounts as the API)."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("web/login.html", next=target, error=None, username="")
    username = request.form.get("username", "").strip()
    try:
        user = signin.sign_in(db.session(), username, request.form.get("password", ""))
    except Throttled as refused:
        error = throttled_message(refused)
        page = render_template("web/login.html", next=target, error=error, username=username)
        return page, 429, {"Retry-After": str(refused.retry_after)}
    if user is None or user.role not in STAFF_ROLES:
        error = _("Wrong username or password.")
        return render_template("web/login.html", next=target, error=error, username=username), 401
    sign_in(user)
    return redirect(target or landing(user.actor))


@bp.post("/keluar")
def logout() -> ResponseReturnValue:
    sign_out()
    flash(_("You have signed out."), "success")
    return redirect(url_for("web.home"))


@bp.get("/kotak-masuk")
@staff_required(*TASK_ROLES)
def inbox() -> ResponseReturnValue:
    """READY tasks the caller may do, earliest deadline first; overdue, escalated and claimed ones marked."""
    actor = staff()
    mine = request.args.get("assigned") == "me"
    query = tasks.inbox_query(actor, mine).limit(INBOX_LIMIT)
    query = query.add_columns(Case).join(Case, Case.id == tasks.TaskRecord.case_id)
    rows = [(views.task(row, case), case) for row, case in db.session.execute(query)]
    return render_template("web/inbox.html", rows=rows, now=utcnow(), mine=mine)


# A task -------------------------------------------------------------------------------------------------


def task_choices(actor: Actor, case: Case) -> dict[str, list[tuple[str, str]]]:
    """Options of the directory-backed fields: agencies, units below the case's agency, categories, users."""
    everyone = [(a.code, f"{a.name} ({a.code})") for a in agencies()]
    below = case.agency
    units = [(code, name) for code, name in everyone if below and code != below and in_subtree(code, below)]
    users = db.session.scalars(visible_users(actor))
    return {
        "agency": everyone,
        "agency-unit": units,
        "category": [(c.code, c.name) for c in categories()],
        "assignee": [(u.username, f"{u.username} ({u.role})") for u in users if u.active and u.role != "auditor"],
    }


def render_task(
    task_id: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
    kept: list[int] | None = None,
    restore: bool = False,
) -> ResponseReturnValue:
    actor = staff()
    row = tasks.get_task(db.session(), actor, task_id)
    case = db.session.get_one(Case, row.case_id)
    version = db.session.get_one(processes.ProcessVersion, case.process_version_id)
    schema = processes.parsed_for(version).forms.get(row.form, {})
    if values is None:
        values = forms.initial_values(schema, case)
        for name, value in (row.proposal or {}).items():  # what the diagram's decisions propose
            if name in schema.get("properties", {}) and not values.get(name):
                values[name] = value
    audience = staff_audience(db.session(), actor, case)
    view = views.complaint(db.session(), case, audience) if audience else views.summary(case)
    return render_template(
        "web/task.html", task=views.task(row, case), schema=schema, now=utcnow(), proposal=row.proposal or {},
        fields=forms.fields(row.form, schema, values, task_choices(actor, case)), errors=errors or {},
        case=view, ready=row.state == tasks.TaskStatus.READY, held_by_other=row.assignee not in (None, actor.username),
        form_help=i18n.FORM_HELP.get(row.form.split(".", 1)[0], schema.get("description", "")),
        highlight=newest_reporter_message(view.get("messages", [])), takes_files=has_message_field(schema),
        kept=kept_files(view, kept or []), max_bytes=attachments.MAX_BYTES,
        restore_form=f"task-{row.id}" if restore else None,
        photos=[a for a in view.get("attachments", []) if a.content_type.startswith("image/")],
    ), status  # fmt: skip


def newest_reporter_message(messages: list[dict[str, Any]]) -> int | None:
    """The id of the reporter's latest message: the task page highlights what the staff must answer."""
    return next((m["id"] for m in reversed(messages) if m["author_role"] == "reporter"), None)


def has_message_field(schema: dict[str, Any]) -> bool:
    """A form with a message field can carry photos or documents with that message."""
    return any(isinstance(p, dict) and conversation.ANNOTATION in p for p in schema.get("properties", {}).values())


def kept_files(view: dict[str, Any], ids: list[int]) -> list[Any]:
    """Files uploaded with an earlier, refused submission of the form: kept, and sent with the next one."""
    return [a for a in view.get("attachments", []) if a.id in ids]


@bp.get("/tugas/<task_id>")
@staff_required(*TASK_ROLES)
def task_page(task_id: str) -> ResponseReturnValue:
    """The task, the complaint it is about, and its form."""
    return render_task(task_id)


@bp.post("/tugas/<task_id>/ambil")
@staff_required(*TASK_ROLES)
def claim(task_id: str) -> ResponseReturnValue:
    try:
        lifecycle.claim_task(db.session(), staff(), task_id)
        flash(_("The task is yours: others see it as taken."), "success")
    except Conflict as error:
        flash(_("The task could not be taken: %(reason)s", reason=error.message), "error")
    return redirect(url_for("web.task_page", task_id=task_id))


@bp.post("/tugas/<task_id>")
@staff_required(*TASK_ROLES)
def complete(task_id: str) -> ResponseReturnValue:
    """Complete the task with the form's data; field errors come back next to the fields."""
    actor = staff()
    row = tasks.get_task(db.session(), actor, task_id)
    case = db.session.get_one(Case, row.case_id)
    version = db.session.get_one(processes.ProcessVersion, case.process_version_id)
    schema = processes.parsed_for(version).forms.get(row.form, {})
    data = forms.data_from_form(schema, request.form)
    files, refused = task_files(case, actor)
    if refused:
        errors = {"attachments": [_("Not attached: %(reason)s", reason=r) for r in refused]}
        return render_task(task_id, data, errors, 422, files)
    try:
        outcome = lifecycle.complete_task(db.session(), actor, task_id, data, settings(), files or None)
    except InvalidData as error:
        db.session.rollback()
        errors = {k: [i18n.translate_error(str(m)) for m in v] for k, v in error.errors.items()}
        return render_task(task_id, data, errors or {"data": [error.message]}, 422, files)
    except Conflict as error:
        flash(_("The task could not be completed: %(reason)s", reason=error.message), "error")
        return redirect(url_for("web.task_page", task_id=task_id))
    flash(_("Done. The complaint %(id)s is now: %(status)s", id=outcome.case.tracking_id,
            status=status_label(outcome.case.status)), "success")  # fmt: skip
    return redirect(url_for("web.inbox"))


def task_files(case: Case, actor: Actor) -> tuple[list[int], list[str]]:
    """Files sent with the task form: those kept from an earlier try plus the new uploads (stored now)."""
    kept = [int(i) for i in request.form.getlist("kept_attachments") if i.isdigit()]
    new, refused = store_files(case, actor, uploads())
    return kept + new, refused


def status_label(status: str) -> str:
    return str(i18n.STATUS.get(status, status))


# The list of cases --------------------------------------------------------------------------------------


@bp.get("/aduan")
@staff_required()
def case_list() -> ResponseReturnValue:
    """Complaints in the caller's scope, newest first, with the API's filters (status, agency, category, q)."""
    args = request.args
    query: dict[str, Any] = {}
    for name in ("status", "agency", "category", "area", "q"):
        if value := args.get(name, "").strip()[:200]:
            query[name] = value
    if query.get("status") not in (None, *STATUSES):
        query.pop("status")
    if args.get("escalated") in ("1", "true", "True"):
        query["escalated"] = True
    page = max(1, min(args.get("page", 1, type=int) or 1, 100_000))
    session = db.session()
    condition = sa.and_(staff_scope(session, staff()), *filters(query))
    total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(condition)) or 0
    rows = session.scalars(
        sa.select(Case).where(condition).order_by(Case.created_at.desc(), Case.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    )  # fmt: skip
    return render_template(
        "web/case_list.html", cases=[views.summary(c) for c in rows], total=total, page=page,
        pages=max(1, -(-total // PER_PAGE)), query=query, statuses=STATUSES, agencies=agencies(),
        categories=categories(),
    )  # fmt: skip
