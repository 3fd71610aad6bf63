"""Citizen accounts: register (confirmed by e-mail), confirm, "Laporan saya", claim a guest complaint."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api import views
from api.auth import current_actor, require
from api.extensions import db, limiter
from api.schemas.citizens import AccountSchema, ClaimSchema, ConfirmationSchema, RegistrationSchema
from api.schemas.complaints import ComplaintPageSchema, ComplaintSchema
from engine import citizens
from engine.cases.access import Actor
from engine.cases.visibility import Audience

blp = Blueprint("citizens", __name__, description="Citizen accounts (akun pelapor)")


def secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def citizen() -> Actor:
    """The signed-in caller (inside `require`)."""
    found = current_actor()
    assert found is not None
    return found


@blp.route("/citizens")
class Registration(MethodView):
    decorators = [limiter.limit(lambda: current_app.config["INTAKE_RATE_LIMIT"], methods=["POST"])]  # noqa: RUF012

    @blp.arguments(RegistrationSchema)
    @blp.response(201, AccountSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Register a citizen account; it works once the link sent to the e-mail is opened."""
        user = citizens.register(db.session(), secret(), **body)
        db.session.commit()
        return user


@blp.route("/citizens/confirm")
class Confirmation(MethodView):
    @blp.arguments(ConfirmationSchema)
    @blp.response(200, AccountSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Confirm the e-mail with the token of the link; the account can then sign in."""
        user = citizens.verify_email(db.session(), secret(), body["token"])
        db.session.commit()
        return user


@blp.route("/citizens/me/complaints")
class MyComplaints(MethodView):
    @require("reporter")
    @blp.response(200, ComplaintPageSchema)
    def get(self) -> dict[str, Any]:
        """The signed-in citizen's complaints, newest first (Laporan saya)."""
        rows = citizens.my_complaints(db.session(), citizen().username)
        return {"items": [views.summary(c) for c in rows], "page": 1, "per_page": len(rows), "total": len(rows)}

    @require("reporter")
    @blp.arguments(ClaimSchema)
    @blp.response(200, ComplaintSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Move a complaint filed as a guest into the account, with its tracking number and secret code."""
        case = citizens.claim(db.session(), citizen(), body["tracking_id"], body["token"])
        return views.complaint(db.session(), case, Audience.REPORTER)
