"""A case's timeline and history export, for auditors and staff in scope (auditors' reads are logged)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require, staff
from api.extensions import db
from api.resources.complaints import visible
from api.schemas.timeline import HistoryExportQuerySchema, TimelineSchema
from engine.audit import chain as audit
from engine.audit import exports, timeline
from engine.cases.case import Case
from engine.cases.visibility import Audience
from engine.db import utcnow
from engine.errors import NotFound

blp = Blueprint("timeline", __name__, description="Case timelines and history exports for auditors")
STAFF_AUDIENCES = frozenset({Audience.AGENCY, Audience.DESK, Audience.AUDITOR})
FORMATS = {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}


def staff_visible(tracking_id: str) -> tuple[Case, Audience]:
    """The case for staff in scope and auditors; 404 out of scope (the read is logged for auditors)."""
    case, audience = visible(tracking_id)
    if audience not in STAFF_AUDIENCES:  # out of scope, even if the public may see the complaint itself
        raise NotFound(f"no complaint {tracking_id!r}")
    return case, audience


@blp.route("/complaints/<tracking:tracking_id>/timeline")
class Timeline(MethodView):
    @require()
    @blp.response(200, TimelineSchema)
    def get(self, tracking_id: str) -> dict[str, Any]:
        """Events in time order with actor, role, task, data changed, elements passed and deadlines met or
        missed; the chain's first broken link, if any; auditors also see every logged read."""
        case, audience = staff_visible(tracking_id)
        return timeline.timeline(db.session(), case, utcnow(), with_reads=audience == Audience.AUDITOR)


def attachment(body: str, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blp.route("/complaints/<tracking:tracking_id>/history/export")
class HistoryExport(MethodView):
    @require()
    @blp.arguments(HistoryExportQuerySchema, location="query")
    @blp.response(200)
    @blp.doc(responses={"200": {"description": "JSON (`format=json`) or CSV (`format=csv`)", "content": FORMATS}})
    def get(self, query: dict[str, Any], tracking_id: str) -> Response:
        """The case's whole trail with hashes: `?format=json` (verbatim, with the chain status) or `csv`."""
        case, _ = staff_visible(tracking_id)
        events = audit.history(db.session(), case)
        if query["format"] == "csv":
            return attachment("".join(exports.history_csv(events)), "text/csv", f"{case.tracking_id}-history.csv")
        document = exports.history_json(case, events, staff(), utcnow())
        body = json.dumps(document, ensure_ascii=False, indent=1, default=lambda v: v.isoformat())
        return attachment(body, "application/json", f"{case.tracking_id}-history.json")
