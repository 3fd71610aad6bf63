"""Process owners' and auditors' page of incidents: where the engine could not carry a case on.

Scoped exactly like the API's `GET /incidents` (engine.cases.visibility.incident_scope).
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from api.extensions import db
from api.web.blueprint import bp
from api.web.login import staff, staff_required
from engine.cases.visibility import INCIDENT_READERS, incident_scope
from engine.processes import incidents


@bp.get("/insiden")
@staff_required(*INCIDENT_READERS)
def incident_list() -> ResponseReturnValue:
    """Open incidents first (`?semua=1`: resolved ones too), each with its case, element and reason."""
    show_all = request.args.get("semua") == "1"
    scope = incident_scope(db.session(), staff())
    rows = incidents.listing(db.session(), scope, open_only=not show_all)
    return render_template("web/incidents.html", incidents=rows, show_all=show_all)
