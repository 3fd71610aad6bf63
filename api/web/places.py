"""Places pages: the staff hot-spot map, the city's public figures, the quarterly report download, support.

Maps are Leaflet (npm) on the configured `MAP_TILE_URL`; every map has the same figures in a table beside
it, so the pages work when tiles (or the library) cannot load.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from api.extensions import db
from api.resources.places import PUBLIC_FIGURES, public_figures
from api.schemas.places import HotspotQuerySchema, SupportSchema
from api.web.audit import stats_query
from api.web.blueprint import bp
from api.web.common import agencies, categories
from api.web.login import current_staff, staff, staff_required
from engine import places
from engine.cases.case import Case
from engine.cases.visibility import get_for, is_public
from engine.db import utcnow
from engine.errors import Conflict, InvalidData, NotFound
from engine.stats import figures as stats


@bp.get("/peta")
@staff_required()
def hotspot_map() -> ResponseReturnValue:
    """Hot spots of the caller's cases: clusters on a map and in a table, filtered by period and category."""
    raw = {k: v.strip() for k in ("from", "to", "category", "by") if (v := request.args.get(k, "")).strip()}
    try:
        query = HotspotQuerySchema().load(raw)
    except ma.ValidationError as error:
        query, errors = HotspotQuerySchema().load({}), error.messages
    else:
        errors = {}
    session = db.session()
    condition = stats.where(session, staff(), stats.Query())
    if "category" in query:
        condition = condition & (Case.category == query["category"])
    period = places.Period.around(query.get("from_"), query.get("to"))
    clusters = places.hotspots(session, condition, period, utcnow(), places.Clustering(query["by"]))
    return render_template(
        "web/hotspots.html", clusters=clusters, period=period, query=query, errors=errors,
        categories=categories(), tile_url=current_app.config["MAP_TILE_URL"],
    )  # fmt: skip


@bp.get("/statistik-publik")
def public_stats_page() -> ResponseReturnValue:
    """The city's figures for everyone (statistik publik): the cached `/public/stats` answer, with definitions."""
    query, errors = stats_query()
    key = (query.get("agency"), query.get("from_"), query.get("to"))
    ttl = float(current_app.config.get("PUBLIC_STATS_TTL", 300))
    figures = PUBLIC_FIGURES.get(key, ttl, lambda: public_figures(query))
    names = {a.code: a.name for a in agencies()}
    return render_template(
        "web/public_stats.html", figures=figures, names=names, errors=errors,
        filters={k: request.args.get(k, "") for k in ("from", "to")}, tile_url=current_app.config["MAP_TILE_URL"],
    )  # fmt: skip


@bp.get("/statistik/laporan-triwulan")
@staff_required()
def quarterly_report() -> ResponseReturnValue:
    """The quarterly coordination-meeting report as PDF (`?quarter=2024Q2`, default: the last full quarter)."""
    from api.reports import render_pdf

    try:
        quarter = stats.Quarter.parse(request.args.get("quarter") or str(last_full_quarter(date.today())))
    except ValueError:
        abort(422)
    actor = staff()
    agency = None if actor.role in ("auditor", "admin", "verifier") else actor.agency
    pdf = render_pdf(db.session(), quarter, agency, utcnow())
    name = f"laporan-triwulan-{quarter}{'-' + agency if agency else ''}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def last_full_quarter(today: date) -> stats.Quarter:
    return stats.Quarter(today.year, (today.month - 1) // 3 + 1).previous


@bp.post("/aduan/<tracking_id>/dukung")
def support_page(tracking_id: str) -> ResponseReturnValue:
    """Support from the public page ("already reported: support it"): follow the case, be told of its follow-ups."""
    try:
        case, _audience = get_for(db.session(), None, tracking_id)
    except NotFound:
        abort(404)
    if not is_public(case):
        abort(404)
    contact: dict[str, Any] = {k: v for k in ("name", "email", "phone") if (v := request.form.get(k, "").strip())}
    try:
        places.support(db.session(), case, SupportSchema().load(contact), current_staff())
        db.session.commit()
        flash(_("Thank you: you will be told of this complaint's follow-ups."), "success")
    except ma.ValidationError:
        flash(_("Give a valid e-mail address or phone number to support this complaint."), "error")
    except (InvalidData, Conflict) as error:
        db.session.rollback()
        message = _("You already support this complaint.") if isinstance(error, Conflict) else None
        flash(message or _("Give a valid e-mail address or phone number to support this complaint."), "error")
    return redirect(url_for("web.case_page", tracking_id=case.tracking_id))
