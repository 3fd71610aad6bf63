"""Auditors' pages: a case's timeline beside its diagram, history exports, and the KPI dashboard.

Scoped exactly like the API's `/timeline`, `/history/export`, `/stats` and `/exports/complaints.csv`:
auditors read everything (each read is logged), other staff see their own scope.
"""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Response, abort, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from api.extensions import db
from api.resources.timeline import attachment
from api.schemas.stats import StatsQuerySchema
from api.web import element_names
from api.web.blueprint import bp
from api.web.common import agencies, staff_case
from api.web.login import staff, staff_required
from engine.audit import chain as audit
from engine.audit import exports, timeline
from engine.cases.case import Case
from engine.cases.visibility import Audience
from engine.db import utcnow
from engine.directory.agencies import Agency
from engine.processes import registry as processes
from engine.stats import figures as stats


def main_diagram(version: processes.ProcessVersion) -> tuple[str, str] | None:
    """The version's BPMN file that holds its main process (name, XML), for the viewer."""
    bpmn = {name: text for name, text in sorted(version.source.items()) if name.endswith(".bpmn")}
    for name, text in bpmn.items():
        if f'id="{version.key}"' in text:
            return name, text
    return next(iter(bpmn.items()), None)


@bp.get("/audit/<tracking_id>")
@staff_required()
def audit_page(tracking_id: str) -> ResponseReturnValue:
    """Events in time order beside the diagram with the path taken and the open tasks highlighted."""
    case, audience = staff_case(tracking_id)
    trail = timeline.timeline(db.session(), case, utcnow(), with_reads=audience == Audience.AUDITOR)
    version = db.session.get_one(processes.ProcessVersion, case.process_version_id)
    diagram = main_diagram(version)
    current = [t["name"] for t in trail["tasks"] if t["state"] == "ready"]
    overdue = [t["name"] for t in trail["tasks"] if t["deadline"] == "overdue"]
    xml = element_names.translate_diagram(diagram[1]) if diagram else None
    viewer = {"xml": xml, "taken": sorted(set(trail["elements"])), "current": current, "overdue": overdue}
    return render_template("web/audit.html", trail=trail, viewer=viewer, case=case, diagram=diagram)


@bp.get("/audit/<tracking_id>/riwayat.<fmt>")
@staff_required()
def history_export(tracking_id: str, fmt: str) -> ResponseReturnValue:
    """The whole trail with its hashes, as the API's `/history/export` gives it (JSON or CSV)."""
    case, _audience = staff_case(tracking_id)
    events = audit.history(db.session(), case)
    if fmt == "csv":
        return attachment("".join(exports.history_csv(events)), "text/csv", f"{case.tracking_id}-history.csv")
    if fmt != "json":
        abort(404)
    document = exports.history_json(case, events, staff(), utcnow())
    body = json.dumps(document, ensure_ascii=False, indent=1, default=lambda v: v.isoformat())
    return attachment(body, "application/json", f"{case.tracking_id}-history.json")


# KPIs ---------------------------------------------------------------------------------------------------


def stats_query() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The dashboard's filters (from, to, agency), validated like the API's `/stats` query."""
    raw = {k: v.strip() for k in ("from", "to", "agency") if (v := request.args.get(k, "")).strip()}
    try:
        query = StatsQuerySchema().load(raw)
    except ma.ValidationError as error:
        return {}, {k: [str(m) for m in v] for k, v in error.messages.items()}  # type: ignore[union-attr]
    if "agency" in query and db.session.get(Agency, query["agency"]) is None:
        return {}, {"agency": [f"no agency {query['agency']!r}"]}
    return query, {}


def condition_of(query: dict[str, Any], rows: bool = False) -> sa.ColumnElement[bool]:
    """Figures (or, with `rows`, exported rows) of the caller's scope for the query."""
    period = stats.Query(query.get("agency"), query.get("from_"), query.get("to"))
    return stats.where(db.session(), staff(), period, rows)


@bp.get("/statistik")
@staff_required()
def dashboard() -> ResponseReturnValue:
    """KPIs of the cases in the caller's scope: follow-up speed and completion rate by agency and month."""
    query, errors = stats_query()
    asked = stats.Query(query.get("agency"), query.get("from_"), query.get("to"))
    figures = stats.stats(db.session(), condition_of(query), utcnow(), stats.rollup_scope(staff(), asked))
    names = {a.code: a.name for a in agencies()}
    charts = {
        "agencies": [names.get(r["agency"], r["agency"] or "—") for r in figures["by_agency"]],
        "agency_speed": [r["followup_speed"]["mean"] for r in figures["by_agency"]],
        "agency_speed_median": [r["followup_speed"]["median"] for r in figures["by_agency"]],
        "agency_completion": [_percent(r["completion_rate"]) for r in figures["by_agency"]],
        "agency_on_time": [_percent(r["on_time_followup_rate"]) for r in figures["by_agency"]],
        "months": [r["month"] for r in figures["by_month"]],
        "month_speed": [r["followup_speed"]["mean"] for r in figures["by_month"]],
        "month_completion": [_percent(r["completion_rate"]) for r in figures["by_month"]],
        "month_cases": [r["counts"]["total"] for r in figures["by_month"]],
    }
    filters = {"from": request.args.get("from", ""), "to": request.args.get("to", ""),
               "agency": request.args.get("agency", "")}  # fmt: skip
    return render_template(
        "web/dashboard.html", figures=figures, charts=charts, errors=errors, filters=filters, agencies=agencies()
    )


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


@bp.get("/statistik/aduan.csv")
@staff_required()
def cases_export() -> ResponseReturnValue:
    """The cases behind the dashboard as CSV (an auditor's export is logged as a read of each case)."""
    query, errors = stats_query()
    if errors:
        return Response("invalid filters\n", status=422, mimetype="text/plain")
    session, actor = db.session(), staff()
    last_id = session.scalar(sa.select(sa.func.max(Case.id))) or 0
    condition = sa.and_(condition_of(query, rows=True), Case.id <= last_id)
    exports.log_auditor_reads(session, actor, condition, utcnow())
    session.commit()
    name = f"complaints-{query.get('from_') or 'start'}-{query.get('to') or 'now'}.csv"
    body = stream_with_context(exports.cases_csv(session, actor, condition))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
