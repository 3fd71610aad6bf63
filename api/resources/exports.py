"""Exports of many cases: a period's cases as CSV, streamed, scoped like the complaint list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require, staff
from api.extensions import db
from api.schemas.timeline import CasesExportQuerySchema
from engine.audit import exports
from engine.cases.case import Case
from engine.db import utcnow
from engine.directory.agencies import Agency
from engine.errors import InvalidData
from engine.stats import figures as stats

blp = Blueprint("exports", __name__, description="Exports for auditors and agencies")
CSV = {"text/csv": {"schema": {"type": "string"}}}


@blp.route("/exports/complaints.csv")
class CasesExport(MethodView):
    @require()
    @blp.arguments(CasesExportQuerySchema, location="query")
    @blp.response(200)
    @blp.doc(responses={"200": {"description": "one row per case, streamed", "content": CSV}})
    def get(self, query: dict[str, Any]) -> Response:
        """The cases the caller may list, submitted from `from` to `to` (local dates, inclusive), oldest first.

        Reporter identity columns are filled only where the caller may see the identity. An auditor's
        export is logged as a read of every case in it.
        """
        agency = query.get("agency")
        if agency is not None and db.session.get(Agency, agency) is None:
            raise InvalidData("invalid agency", {"agency": [f"no agency {agency!r}"]})
        session, actor = db.session(), staff()
        condition = stats.where(session, actor, stats.Query(agency, query.get("from_"), query.get("to")), rows=True)
        last_id = session.scalar(sa.select(sa.func.max(Case.id))) or 0
        condition = sa.and_(condition, Case.id <= last_id)  # the cases logged below, not later arrivals
        exports.log_auditor_reads(session, actor, condition, utcnow())
        session.commit()
        name = f"complaints-{query.get('from_') or 'start'}-{query.get('to') or 'now'}.csv"
        body = stream_with_context(exports.cases_csv(session, actor, condition))
        return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
