"""KPIs: `/stats` for staff and auditors, scoped like the complaint list."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require, staff
from api.extensions import db
from api.schemas.stats import StatsQuerySchema, StatsSchema
from engine.db import utcnow
from engine.directory.agencies import Agency
from engine.errors import InvalidData
from engine.stats import figures as stats

blp = Blueprint("stats", __name__, description="KPIs (indikator kinerja pengelolaan pengaduan)")


@blp.route("/stats")
class Stats(MethodView):
    @require()
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, StatsSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """KPIs of the cases the caller may list, submitted from `from` to `to` (local dates, inclusive).

        Durations are in working days. Grouped by agency, category, kind and month, with an agency ranking.
        """
        agency = query.get("agency")
        if agency is not None and db.session.get(Agency, agency) is None:
            raise InvalidData("invalid agency", {"agency": [f"no agency {agency!r}"]})
        session = db.session()
        actor, asked = staff(), stats.Query(agency, query.get("from_"), query.get("to"))
        condition = stats.where(session, actor, asked)
        return stats.stats(session, condition, utcnow(), stats.rollup_scope(actor, asked))
