"""Staff intake (*digitalisasi laporan*): a clerk types in a suggestion-box slip, a counter visit, a phone
call or a letter for a citizen, with the slip's scan attached. The same intake rule as the API
(`engine.channels.counters.file`): the clerk is recorded as the one who entered it; the citizen is the
reporter, or nobody (anonymous); the tracking number and secret code are shown once, to hand over.
"""

from __future__ import annotations

import marshmallow as ma
from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from api.extensions import db, limiter
from api.schemas.complaints import ComplaintCreateSchema
from api.web import i18n
from api.web.blueprint import bp
from api.web.common import agencies, categories, settings
from api.web.login import staff, staff_required
from api.web.public import check_uploads, flat_errors, intake_limit, store_uploads, submission_from_form, uploads
from engine.cases import attachments, lifecycle
from engine.channels import counters
from engine.errors import InvalidData

ENTERING_ROLES = tuple(sorted(counters.ENTERING_ROLES))


def render_intake(values: dict[str, str], errors: dict[str, list[str]], status: int = 200) -> ResponseReturnValue:
    context = {"values": values, "errors": errors, "categories": categories(), "agencies": agencies()}
    channels = [(c, i18n.CHANNEL[c]) for c in counters.STAFF_CHANNELS]
    return render_template(
        "web/complaint_form.html", kinds=i18n.KIND, channels=channels, max_bytes=attachments.MAX_BYTES, **context
    ), status


@bp.route("/catat", methods=["GET", "POST"])
@staff_required(*ENTERING_ROLES)
@limiter.limit(intake_limit, methods=["POST"])
def staff_intake() -> ResponseReturnValue:
    """Record a complaint received on paper or by phone (kotak saran, loket, telepon, surat)."""
    if request.method == "GET":
        return render_intake({"kind": "complaint", "channel": "loket"}, {})
    values, files = request.form.to_dict(), uploads()
    data = submission_from_form()
    data["channel"] = request.form.get("channel", "")
    if data["channel"] not in counters.STAFF_CHANNELS:
        return render_intake(values, {"channel": [_("Choose how the complaint was received.")]}, 422)
    try:
        body = ComplaintCreateSchema().load(data)
    except ma.ValidationError as error:
        return render_intake(values, flat_errors(error.messages) | check_uploads(files), 422)
    if errors := check_uploads(files):
        return render_intake(values, errors, 422)
    actor = staff()
    try:
        outcome = counters.file(db.session(), lifecycle.Submission(**body), actor, settings())
    except InvalidData as error:
        return render_intake(values, flat_errors(error.errors), 422)
    case, token = outcome.case, outcome.reporter_token
    for refused in store_uploads(case, actor, files):
        flash(_("A file was not attached: %(reason)s", reason=refused), "warning")
    session["new_token"] = {"tracking_id": case.tracking_id, "token": token, "staff": True}
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id))
