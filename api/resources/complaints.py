"""Complaints: intake, the caller's view, staff listing, reporter replies, attachments, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, request, send_file
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint

from api import views
from api.auth import current_actor, require, staff
from api.extensions import budget, db, limiter, upload_limits
from api.idempotency import DOC as IDEMPOTENCY_DOC
from api.idempotency import idempotent
from api.schemas.complaints import (
    AttachmentSchema,
    AttachmentUploadSchema,
    ComplaintCreatedSchema,
    ComplaintCreateSchema,
    ComplaintPageSchema,
    ComplaintQuerySchema,
    ComplaintSchema,
    EventSchema,
    ReplySchema,
)
from engine import conversation, places
from engine.audit import chain as audit
from engine.cases import attachments, lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.visibility import Audience, get_for, sees_attachments, sees_message_author, staff_scope
from engine.channels import counters
from engine.errors import Forbidden, NotFound

blp = Blueprint("complaints", __name__, description="Complaints (aduan)")
TOKEN_HEADER = "X-Reporter-Token"
REPORTER_EVENTS = frozenset({"submitted", "reporter_replied", "task_completed", "timer_fired"})


def settings() -> Any:
    return current_app.extensions["aduan.settings"]


def visible(tracking_id: str) -> tuple[Case, Audience]:
    """The case as the caller may see it (404 otherwise); auditors' reads are logged."""
    actor = current_actor()
    case, audience = get_for(db.session(), actor, tracking_id, request.headers.get(TOKEN_HEADER))
    if actor is not None and actor.role == "auditor":
        audit.record_read(db.session(), case, actor, request.endpoint or "read")
        db.session.commit()
    return case, audience


def intake_actor(body: dict[str, Any]) -> tuple[Actor | None, str | None]:
    """Who files: a signed-in reporter files as themselves; staff may type in a complaint for someone."""
    actor = current_actor()
    if actor is not None and actor.role == "reporter":
        return actor, actor.username
    return actor, None


@blp.route("/complaints")
class Complaints(MethodView):
    decorators = [limiter.limit(budget("INTAKE_RATE_LIMIT"), methods=["POST"])]  # noqa: RUF012

    @blp.arguments(ComplaintCreateSchema)
    @blp.response(201, ComplaintCreatedSchema)
    @blp.alt_response(403, description="A channel the caller may not file on (staff channels, adapters' channels)")
    def post(self, body: dict[str, Any]) -> Any:
        """File a complaint (guest or signed in). Keep the `reporter_token`: it is shown only once.

        Staff type in what came by suggestion box, counter, phone or letter (`channel` `kotak_saran`,
        `loket`, `telepon`, `surat`) and are recorded as `entered_by`; others file on `web`, `app`, `api`.
        """
        actor, username = intake_actor(body)
        submission = lifecycle.Submission(**body, reporter_username=username)
        outcome = counters.file(db.session(), submission, actor, settings())
        view = views.created(outcome, Audience.REPORTER)
        view["reporter_token"] = outcome.reporter_token
        return view, 201, {"Location": f"/api/v1/complaints/{outcome.case.tracking_id}"}

    @require()
    @blp.arguments(ComplaintQuerySchema, location="query")
    @blp.response(200, ComplaintPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Complaints in the caller's scope, newest first, filtered and paginated."""
        session = db.session()
        condition = sa.and_(staff_scope(session, staff()), *filters(query))
        total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(condition)) or 0
        page, per_page = query["page"], query["per_page"]
        rows = session.scalars(
            sa.select(Case).where(condition).order_by(Case.created_at.desc(), Case.id.desc())
            .limit(per_page).offset((page - 1) * per_page)
        )  # fmt: skip
        return {"items": [views.summary(c) for c in rows], "page": page, "per_page": per_page, "total": total}


def filters(query: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for name in ("status", "agency", "category", "channel", "area", "escalated"):
        if name in query:
            conditions.append(getattr(Case, name) == query[name])
    if "q" in query:
        pattern = "%" + query["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found: list[sa.ColumnElement[bool]] = [
            Case.title.ilike(pattern, escape="\\"),
            Case.body.ilike(pattern, escape="\\"),
        ]
        if terms := places.words(query["q"]):  # full text: every word, in any order, anywhere in title or body
            found.append(places.text_match(db.session(), terms, every=True))
        conditions.append(sa.or_(*found))
    return conditions


@blp.route("/complaints/<tracking:tracking_id>")
class ComplaintItem(MethodView):
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(404, description="No such complaint, or not visible to the caller")
    def get(self, tracking_id: str) -> dict[str, Any]:
        """The complaint, fitted to the caller: public, reporter (`X-Reporter-Token`), staff or auditor."""
        case, audience = visible(tracking_id)
        return views.complaint(db.session(), case, audience)


@blp.route("/complaints/<tracking:tracking_id>/replies")
class Replies(MethodView):
    @blp.arguments(ReplySchema)
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, description="The complaint waits for no reply")
    def post(self, reply: dict[str, Any], tracking_id: str) -> dict[str, Any]:
        """The reporter answers: more information, or (not) satisfied with the follow-up and a rating."""
        case, audience = visible(tracking_id)
        if audience != Audience.REPORTER:
            raise Forbidden("only the reporter may reply (X-Reporter-Token, or sign in as the reporter)")
        outcome = lifecycle.reporter_reply(db.session(), case, reply, current_actor(), settings())
        return views.complaint(db.session(), outcome.case, audience)


def _not_found(tracking_id: str) -> NotFound:
    return NotFound(f"no complaint {tracking_id!r}")


CHAIN_HEADERS = {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in (
        ("X-Chain-Valid", "true when the case's hash chain is intact"),
        ("X-Chain-Broken-Seq", "seq of the first broken link (only when broken)"),
        ("X-Chain-Broken-Reason", "why that link is broken (only when broken)"),
    )
}


@blp.route("/complaints/<tracking:tracking_id>/history")
class History(MethodView):
    @blp.response(200, EventSchema(many=True), headers=CHAIN_HEADERS)
    def get(self, tracking_id: str) -> Any:
        """The audit trail: complete for staff in scope and auditors; the reporter sees its public part.

        `X-Chain-Valid` tells whether the hash chain is intact; when it is not, `X-Chain-Broken-Seq` and
        `X-Chain-Broken-Reason` name the first broken link.
        """
        case, audience = visible(tracking_id)
        if audience == Audience.PUBLIC:
            raise _not_found(tracking_id)
        events = audit.history(db.session(), case)
        headers = chain_headers(audit.check_case(case, events))
        if audience == Audience.REPORTER:
            return [reporter_event(e) for e in events if e.type in REPORTER_EVENTS], 200, headers
        return [staff_event(e, case, audience) for e in events], 200, headers


def chain_headers(broken: audit.BrokenLink | None) -> dict[str, str]:
    """The chain's state: `X-Chain-Valid`, and the first broken link's seq and reason when it is broken."""
    if broken is None:
        return {"X-Chain-Valid": "true"}
    return {"X-Chain-Valid": "false", "X-Chain-Broken-Seq": str(broken.seq), "X-Chain-Broken-Reason": broken.reason}


def event_dict(event: audit.Event) -> dict[str, Any]:
    fields = ("seq", "at", "type", "actor", "actor_role", "task", "data", "prev_hash", "hash")
    return {name: getattr(event, name) for name in fields}


def staff_event(event: audit.Event, case: Case, audience: Audience) -> dict[str, Any]:
    """The full event, but an anonymous reporter's account name stays hidden from the agency."""
    view = event_dict(event)
    if event.actor_role == "reporter" and not sees_message_author(case, audience, "reporter"):
        view["actor"] = "reporter"
    return view


def reporter_event(event: audit.Event) -> dict[str, Any]:
    """What a reporter may know of an event: when, what kind, the status it led to, follow-up texts."""
    view = event_dict(event)
    data: dict[str, Any] = {}
    if "status" in event.data.get("changes", {}):
        data["status"] = event.data["changes"]["status"][1]
    if event.data.get("follow_ups"):
        data["follow_ups"] = [{"message": f["message"], "agency": f["agency"]} for f in event.data["follow_ups"]]
    view.update(actor=event.actor_role, task=None, data=data)
    return view


@blp.route("/complaints/<tracking:tracking_id>/attachments")
class Attachments(MethodView):
    @idempotent
    @blp.doc(**IDEMPOTENCY_DOC)
    @upload_limits
    @blp.arguments(AttachmentUploadSchema, location="files")
    @blp.response(201, AttachmentSchema)
    def post(self, files: dict[str, Any], tracking_id: str) -> Any:
        """Attach a file (JPEG, PNG, WebP, PDF or MP4; at most 10 MB).

        With an `Idempotency-Key` header a retried upload answers the first one and stores nothing again.
        """
        case, audience = visible(tracking_id)
        if audience == Audience.PUBLIC:
            raise _not_found(tracking_id)
        if audience == Audience.AUDITOR:
            raise Forbidden("auditors and admins only read complaints")
        upload = files["file"]
        actor = current_actor() or Actor(username="reporter", role="reporter")
        item = attachments.add(
            db.session(), attachment_store(), case, actor, upload.filename or "file", upload.mimetype, upload.stream
        )
        db.session.commit()
        return item, 201, {"Location": f"/api/v1/complaints/{tracking_id}/attachments/{item.id}"}


@blp.route("/complaints/<tracking:tracking_id>/attachments/<int:attachment_id>")
class AttachmentItem(MethodView):
    @blp.response(200, description="The file")
    def get(self, tracking_id: str, attachment_id: int) -> ResponseReturnValue:
        """Download an attachment of a complaint visible to the caller."""
        case, audience = visible(tracking_id)
        if not sees_attachments(audience) and attachment_id not in conversation.published_files(db.session(), case):
            raise _not_found(tracking_id)
        item = attachments.get(db.session(), case, attachment_id)
        path = attachment_store() / item.sha256
        return send_file(path, mimetype=item.content_type, download_name=item.filename, as_attachment=True)


def attachment_store() -> Path:
    return Path(current_app.config["ATTACHMENTS_DIR"])
