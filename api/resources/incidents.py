"""Incidents: where the engine could not carry a case on, for process owners and auditors."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require, staff
from api.extensions import db
from api.schemas.incidents import IncidentQuerySchema, IncidentSchema
from engine.cases.visibility import incident_scope
from engine.processes import incidents

blp = Blueprint("incidents", __name__, description="Cases the engine could not carry on")


@blp.route("/incidents")
class Incidents(MethodView):
    @require("process_owner", "auditor", "admin")
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[incidents.Incident]:
        """Incidents in the caller's scope, newest first (`?open=true`: those not resolved yet)."""
        scope = incident_scope(db.session(), staff())
        return incidents.listing(db.session(), scope, open_only=query["open"])
