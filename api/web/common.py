"""What the pages share: the case as the caller may see it, the directory's names, engine errors as pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from api.extensions import db
from api.web.login import current_citizen, current_staff, reporter_token
from engine.audit import chain as audit
from engine.cases.case import Case
from engine.cases.visibility import Audience, get_for
from engine.directory.agencies import Agency
from engine.directory.categories import Category
from engine.errors import Conflict, EngineError, Forbidden, InvalidData, NotFound
from engine.settings import Settings

STAFF_AUDIENCES = frozenset({Audience.AGENCY, Audience.DESK, Audience.AUDITOR})


def settings() -> Settings:
    return current_app.extensions["aduan.settings"]  # type: ignore[no-any-return]


def visible_case(tracking_id: str) -> tuple[Case, Audience]:
    """The case as this browser may see it (staff session, reporter token, or public); auditors' reads logged."""
    actor = current_staff() or current_citizen()
    case, audience = get_for(db.session(), actor, tracking_id, reporter_token(tracking_id))
    if actor is not None and actor.role == "auditor":
        audit.record_read(db.session(), case, actor, f"web:{request.endpoint or 'read'}")
        db.session.commit()
    return case, audience


def staff_case(tracking_id: str) -> tuple[Case, Audience]:
    """The case for staff in scope and auditors only; 404 otherwise, even when the public may see it."""
    case, audience = visible_case(tracking_id)
    if audience not in STAFF_AUDIENCES:
        raise NotFound(f"no complaint {tracking_id!r}")
    return case, audience


def agencies() -> list[Agency]:
    """Every agency in tree order (each before its units), once per request."""
    if "web_agencies" not in g:
        g.web_agencies = sorted(db.session.scalars(sa.select(Agency)), key=lambda a: a.code.split("."))
    return g.web_agencies  # type: ignore[no-any-return]


def agency_name(code: str | None) -> str:
    if code is None:
        return "—"
    names = {a.code: a.name for a in agencies()}
    return names.get(code, code)


def categories() -> list[Category]:
    return list(db.session.scalars(sa.select(Category).order_by(Category.name)))


def category_name(code: str | None) -> str:
    if code is None:
        return "—"
    category = db.session.get(Category, code)
    return category.name if category is not None else code


PAGE_STATUS: dict[type[EngineError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidData: 422}


def engine_error_page(error: EngineError) -> tuple[str, int]:
    """An engine error raised by a page: the same status the API would answer, as a page."""
    db.session.rollback()
    code = PAGE_STATUS.get(type(error), 400)
    return error_page(code, error.message if code != 404 else None)


def http_error_page(error: Any) -> Any:
    code = getattr(error, "code", 500) or 500
    if code == 413:
        return too_large_page()
    if isinstance(error, CSRFError):
        return error_page(code, _("Your form has expired. Go back, reload the page and try again."))
    return error_page(code)


def too_large_page() -> Any:
    """A request over the size limit cannot be read at all: the form it came from is shown again, saying
    why, and the page's script puts back what the browser kept of the typing (nothing is stored)."""
    from api.web import login, public, staff

    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    message = _(
        "What you sent is larger than %(size)s altogether, so nothing was saved. Your text is kept below; "
        "choose smaller or fewer files and send again.",
        size=size,
    )
    if request.endpoint == "web.complaint_form":
        return public.render_form({}, {"attachments": [message]}, 413, restore=True)
    signed_in = login.current_staff() is not None
    if request.endpoint == "web.complete" and request.view_args and signed_in:
        return staff.render_task(request.view_args["task_id"], None, {"data": [message]}, 413, restore=True)
    return error_page(413, message)


def error_page(code: int, message: str | None = None) -> tuple[str, int]:
    titles = {
        400: _("The request could not be understood"),
        403: _("You may not open this page"),
        404: _("Not found"),
        409: _("This was changed in the meantime"),
        422: _("Please check the form"),
        413: _("Too large to send"),
        429: _("Too many attempts; wait a minute and try again"),
    }
    title = titles.get(code, _("Something went wrong"))
    return render_template("web/error.html", code=code, title=title, message=message), code
