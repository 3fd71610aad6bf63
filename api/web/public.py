"""Citizens' pages: home, the complaint form, tracking, the public list, and the case page everyone shares.

`/aduan/<tracking_id>` is one page fitted to whoever opens it, exactly as `get_for` decides: the public
view, the reporter's (token kept in the session cookie), or staff in scope. Everything else is a 404.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, cast

import marshmallow as ma
import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from api import views
from api.extensions import budget, db, limiter, upload_limits
from api.resources.complaints import REPORTER_EVENTS, reporter_event, staff_event
from api.schemas.complaints import ComplaintCreateSchema, ReplySchema
from api.web import i18n
from api.web.blueprint import bp
from api.web.common import agencies, categories, settings, visible_case
from api.web.login import current_citizen, current_staff, keep_reporter_token, reporter_token
from engine import conversation, places
from engine.audit import chain as audit
from engine.cases import attachments, lifecycle, tasks
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.visibility import Audience, get_for, public_scope, sees_attachments
from engine.errors import Conflict, Forbidden, InvalidData, NotFound

PER_PAGE = 20
REPLY_STATUSES = frozenset({"awaiting_reporter", "needs_info"})
FORM_FIELDS = (
    "title",
    "body",
    "kind",
    "category",
    "agency",
    "location",
    "latitude",
    "longitude",
    "area",
    "occurred_on",
)
REPORTER_FIELDS = ("name", "email", "phone")


intake_limit = budget("INTAKE_RATE_LIMIT")


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("web/home.html")


# The complaint form -------------------------------------------------------------------------------------


def submission_from_form() -> dict[str, Any]:
    """The form as the API's intake body: blank fields left out, the reporter only when something is given."""
    form = request.form
    data: dict[str, Any] = {k: v for k in FORM_FIELDS if (v := form.get(k, "").strip())}
    data["anonymous"] = form.get("anonymous") == "on"
    data["confidential"] = form.get("confidential") == "on"
    reporter = {k: v for k in REPORTER_FIELDS if (v := form.get(f"reporter_{k}", "").strip())}
    if reporter:
        data["reporter"] = reporter
    return data


def flat_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages by form field (`reporter.name` → `reporter_name`), translated."""
    flat: dict[str, list[str]] = {}
    for field, value in (messages or {}).items():
        if isinstance(value, dict):
            flat.update(flat_errors(value, f"{prefix}{field}_"))
        else:
            items = value if isinstance(value, list) else [value]
            flat[f"{prefix}{field}"] = [i18n.translate_error(str(m)) for m in items]
    return flat


def uploads() -> list[FileStorage]:
    return [f for f in request.files.getlist("attachments") if f.filename]


def check_uploads(files: list[FileStorage]) -> dict[str, list[str]]:
    """Refuse an unaccepted file type before anything is filed (content and size are checked on storing)."""
    wrong = [f.filename or "" for f in files if f.mimetype not in attachments.ALLOWED_TYPES]
    big = [f.filename or "" for f in files if size_of(f) > attachments.MAX_BYTES]
    if len(files) > attachments.MAX_PER_CASE:
        return {"attachments": [_("At most %(n)s files.", n=attachments.MAX_PER_CASE)]}
    if wrong:
        return {"attachments": [_("Not accepted: %(names)s (photos, PDF or MP4 only).", names=", ".join(wrong))]}
    if big:
        mb = attachments.MAX_BYTES // (1024 * 1024)
        return {"attachments": [_("Too large (at most %(mb)s MB each): %(names)s", mb=mb, names=", ".join(big))]}
    return {}


def size_of(upload: FileStorage) -> int:
    """The uploaded file's size in bytes (werkzeug spools it to a seekable file), read before storing."""
    stream = upload.stream
    here = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(here)
    return size


def store_uploads(case: Case, actor: Actor, files: list[FileStorage]) -> list[str]:
    """Store the files one by one; the messages of those refused (the rest are kept)."""
    return store_files(case, actor, files)[1]


def store_files(case: Case, actor: Actor, files: list[FileStorage]) -> tuple[list[int], list[str]]:
    """Store the files one by one: ids of those kept, and for each refused one its name and why."""
    kept, refused = [], []
    for upload in files:
        try:
            item = attachments.add(
                db.session(), attachment_store(), case, actor, upload.filename or "file", upload.mimetype,
                cast(BinaryIO, upload.stream),
            )  # fmt: skip
            kept.append(item.id)
            db.session.commit()
        except InvalidData as error:
            db.session.rollback()
            reasons = "; ".join(i18n.translate_error(m) for ms in error.errors.values() for m in ms)
            refused.append(f"{upload.filename}: {reasons}")
    return kept, refused


def attachment_store() -> Path:
    return Path(current_app.config["ATTACHMENTS_DIR"])


def render_form(
    values: dict[str, Any], errors: dict[str, list[str]], status: int = 200, restore: bool = False
) -> ResponseReturnValue:
    """The complaint form; `restore` asks the page's script to put back what the browser kept of the typing
    (after a request too large to read, the server has none of it)."""
    context = {"values": values, "errors": errors, "categories": categories(), "agencies": agencies(),
               "areas": places.list_areas(db.session()), "tile_url": current_app.config["MAP_TILE_URL"]}  # fmt: skip
    return render_template(
        "web/complaint_form.html", kinds=i18n.KIND, max_bytes=attachments.MAX_BYTES,
        restore_form="complaint-form" if restore else None, **context,
    ), status  # fmt: skip


@bp.route("/lapor", methods=["GET", "POST"])
@limiter.limit(intake_limit, methods=["POST"])
def complaint_form() -> ResponseReturnValue:
    """The complaint form (formulir pengaduan); on success the new case's page with its secret token."""
    if request.method == "GET":
        return render_form({"kind": "complaint"}, {})
    values, files = request.form.to_dict(), uploads()
    try:
        body = ComplaintCreateSchema().load(submission_from_form())
    except ma.ValidationError as error:
        return render_form(values, flat_errors(error.messages) | check_uploads(files), 422)
    if errors := check_uploads(files):
        return render_form(values, errors, 422)
    citizen = current_citizen()
    actor = current_staff() or citizen
    submission = lifecycle.Submission(**body, reporter_username=citizen.username if citizen else None)
    try:
        outcome = lifecycle.start_case(db.session(), submission, actor, settings())
    except InvalidData as error:
        return render_form(values, flat_errors(error.errors), 422)
    case, token = outcome.case, outcome.reporter_token
    assert token is not None
    for refused in store_uploads(case, actor or Actor(username="guest", role="reporter"), files):
        flash(_("A file was not attached: %(reason)s", reason=refused), "warning")
    keep_reporter_token(case.tracking_id, token)
    contact = body.get("reporter") or {}
    channel = "email" if contact.get("email") else "sms" if contact.get("phone") else None
    session["new_token"] = {"tracking_id": case.tracking_id, "token": token, "channel": channel}
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id))


# Tracking -----------------------------------------------------------------------------------------------


@bp.route("/lacak", methods=["GET", "POST"])
@limiter.limit(intake_limit, methods=["POST"])
def track() -> ResponseReturnValue:
    """Open one's complaint with its tracking id and secret token (kode rahasia)."""
    if request.method == "GET":
        return render_template("web/track.html", values={}, error=None)
    tracking_id = request.form.get("tracking_id", "").strip().upper()[:40]
    token = request.form.get("token", "").strip()[:200]
    try:
        _case, audience = get_for(db.session(), None, tracking_id, token)
    except NotFound:  # unknown id, or not public and a wrong token: the same answer
        audience = None
    if audience != Audience.REPORTER:
        error = _("No complaint matches this tracking number and secret code.")
        return render_template("web/track.html", values={"tracking_id": tracking_id}, error=error), 404
    keep_reporter_token(tracking_id, token)
    return redirect(url_for("web.case_page", tracking_id=tracking_id))


# The public list ----------------------------------------------------------------------------------------


@bp.get("/publik")
def public_list() -> ResponseReturnValue:
    """Verified, non-confidential complaints, newest first; search by words and category."""
    q = request.args.get("q", "").strip()[:200]
    category = request.args.get("category", "").strip()[:64]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    conditions = [public_scope()]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(sa.or_(Case.title.ilike(pattern, escape="\\"), Case.body.ilike(pattern, escape="\\")))
    if category:
        conditions.append(Case.category == category)
    condition = sa.and_(*conditions)
    session_ = db.session()
    total = session_.scalar(sa.select(sa.func.count()).select_from(Case).where(condition)) or 0
    rows = session_.scalars(
        sa.select(Case).where(condition).order_by(Case.created_at.desc(), Case.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    )  # fmt: skip
    return render_template(
        "web/public_list.html", cases=[views.summary(c) for c in rows], total=total, page=page,
        pages=max(1, -(-total // PER_PAGE)), q=q, category=category, categories=categories(),
    )  # fmt: skip


# The case page ------------------------------------------------------------------------------------------


def history(case: Case, audience: Audience) -> list[dict[str, Any]]:
    """The trail as this audience may read it: nothing for the public, the reporter's part, or all."""
    if audience == Audience.PUBLIC:
        return []
    events = audit.history(db.session(), case)
    if audience == Audience.REPORTER:
        return [reporter_event(e) for e in events if e.type in REPORTER_EVENTS]
    return [staff_event(e, case, audience) for e in events]


@bp.get("/aduan/<tracking_id>")
def case_page(tracking_id: str) -> ResponseReturnValue:
    """The complaint as the browser may see it, its follow-ups as a timeline, and what it may do next."""
    case, audience = visible_case(tracking_id)
    new = session.get("new_token")
    if isinstance(new, dict) and new.get("tracking_id") == case.tracking_id:
        session.pop("new_token")
    else:
        new = None
    return render_case(case, audience, new)


def render_case(
    case: Case, audience: Audience, new: Any = None, values: dict[str, Any] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The case page; `values` refill the message form a refused post came from (nothing typed is lost)."""
    actor = current_staff()
    open_tasks = tasks.open_tasks(db.session(), case.id) if audience not in (Audience.PUBLIC, Audience.REPORTER) else []
    return render_template(
        "web/case.html", case=views.complaint(db.session(), case, audience), audience=audience.value,
        events=history(case, audience), new_token=new, open_tasks=open_tasks,
        may_do={t.id for t in open_tasks if actor is not None and actor.may_do(t.role, t.agency)},
        may_reply=audience == Audience.REPORTER and case.status in REPLY_STATUSES,
        may_post=may_post(case, audience),
        may_attach=audience in (Audience.REPORTER, Audience.AGENCY, Audience.DESK) and case.status != "archived",
        errors={}, values=values or {},
    ), status  # fmt: skip


def may_post(case: Case, audience: Audience) -> bool:
    """Staff handling the case write notes and messages; the reporter adds information when no reply waits."""
    if audience == Audience.REPORTER:
        return case.status not in REPLY_STATUSES | {"closed", "archived"}
    return audience in (Audience.AGENCY, Audience.DESK)


@bp.post("/aduan/<tracking_id>/pesan")
def post_message(tracking_id: str) -> ResponseReturnValue:
    """A message on the thread (staff: internal note or to the reporter; the reporter: more information)."""
    case, audience = visible_case(tracking_id)
    if not may_post(case, audience):
        raise Forbidden("only the staff handling the complaint and its reporter may write on it")
    actor = current_staff() if audience != Audience.REPORTER else None
    actor = actor or Actor(username=case.reporter_username or "reporter", role="reporter")
    try:
        conversation.post_message(db.session(), case, actor, request.form.get("body", ""), request.form.get("audience"))
    except (InvalidData, Conflict) as error:
        reasons = "; ".join(i18n.translate_error(m) for ms in error.errors.values() for m in ms) or error.message
        flash(_("Your message was not sent: %(reason)s", reason=reasons), "error")
        return render_case(case, audience, values=request.form.to_dict(), status=422)
    flash(_("Message sent."), "success")
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id) + "#thread")


@bp.post("/aduan/<tracking_id>/kirim-kode")
@limiter.limit(intake_limit)
def send_codes(tracking_id: str) -> ResponseReturnValue:
    """E-mail the reporter the tracking number and secret code this browser holds for the complaint."""
    case, audience = visible_case(tracking_id)
    token = reporter_token(case.tracking_id)
    if audience != Audience.REPORTER or token is None:
        raise Forbidden("only the reporter's browser may ask for the codes")
    if conversation.send_codes(db.session(), case, token):
        db.session.commit()
        flash(_("The codes are on their way to your e-mail."), "success")
    else:
        flash(_("This complaint has no e-mail address to send the codes to."), "warning")
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id))


@bp.post("/aduan/<tracking_id>/balas")
def reply(tracking_id: str) -> ResponseReturnValue:
    """The reporter answers: more information, or whether the follow-up settles it, with a rating."""
    case, audience = visible_case(tracking_id)
    if audience != Audience.REPORTER:
        raise Forbidden("only the reporter may reply")
    form = request.form
    raw: dict[str, Any] = {"message": text} if (text := form.get("message", "").strip()) else {}
    if form.get("satisfied") in ("yes", "no"):
        raw["satisfied"] = form["satisfied"] == "yes"
    if form.get("rating", "").strip():
        raw["rating"] = form["rating"].strip()
    try:
        answer = ReplySchema().load(raw)
        lifecycle.reporter_reply(db.session(), case, answer, None, settings())
    except ma.ValidationError as error:
        flash(_("Please check your reply: %(errors)s", errors=summary(flat_errors(error.messages))), "error")
    except (InvalidData, Conflict) as error:
        flash(_("Your reply was not accepted: %(reason)s", reason=error.message), "error")
    else:
        flash(_("Thank you. Your reply has been recorded."), "success")
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id))


def summary(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


@bp.post("/aduan/<tracking_id>/lampiran")
@upload_limits
def attach(tracking_id: str) -> ResponseReturnValue:
    """Add files to a complaint: its reporter or staff in scope (auditors only read)."""
    case, audience = visible_case(tracking_id)
    if audience not in (Audience.REPORTER, Audience.AGENCY, Audience.DESK):
        raise Forbidden("only the reporter and the staff handling the complaint may add files")
    files = uploads()
    if errors := check_uploads(files):
        flash(summary(errors), "error")
    elif files:
        actor = current_staff() if audience != Audience.REPORTER else None
        refused = store_uploads(case, actor or Actor(username="reporter", role="reporter"), files)
        for reason in refused:
            flash(_("A file was not attached: %(reason)s", reason=reason), "warning")
        if len(refused) < len(files):
            flash(_("Files attached."), "success")
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id))


@bp.get("/aduan/<tracking_id>/lampiran/<int:attachment_id>")
def attachment(tracking_id: str, attachment_id: int) -> ResponseReturnValue:
    """A file of the case (images inline when `?inline=1`, for thumbnails); the public only gets what staff
    published with a message to the reporter."""
    case, audience = visible_case(tracking_id)
    if not sees_attachments(audience) and attachment_id not in conversation.published_files(db.session(), case):
        abort(404)
    item = attachments.get(db.session(), case, attachment_id)
    path = attachment_store() / item.sha256
    inline = request.args.get("inline") == "1" and item.content_type.startswith("image/")
    return send_file(path, mimetype=item.content_type, download_name=item.filename, as_attachment=not inline)
