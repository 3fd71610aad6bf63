"""Citizens' account pages: register (confirmed by e-mail), confirm, sign in, "Laporan saya" with claiming.

A citizen's session is kept apart from staff sessions (`login.current_citizen`); every case page opened by
a signed-in citizen is fitted to them exactly as the API's `get_for` decides for a reporter account.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from api import views
from api.extensions import db, limiter
from api.schemas.citizens import RegistrationSchema
from api.web.blueprint import bp
from api.web.login import current_citizen, sign_in_citizen
from api.web.public import flat_errors, intake_limit
from engine import citizens
from engine.directory.users import authenticate
from engine.errors import Conflict, InvalidData, NotFound

FIELDS = ("username", "name", "email", "phone")


def secret() -> str:
    return str(current_app.config["SECRET_KEY"])


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit(intake_limit, methods=["POST"])
def register() -> ResponseReturnValue:
    """Create a citizen account; it works once the link sent to the e-mail is opened."""
    if request.method == "GET":
        return render_template("web/register.html", values={}, errors={})
    values = {k: v for k in (*FIELDS, "password") if (v := request.form.get(k, "").strip())}
    try:
        body = RegistrationSchema().load(values)
        citizens.register(db.session(), secret(), **body)
        db.session.commit()
    except ma.ValidationError as error:
        return render_template("web/register.html", values=values, errors=flat_errors(error.messages)), 422
    except InvalidData as error:
        db.session.rollback()
        return render_template("web/register.html", values=values, errors=flat_errors(error.errors)), 422
    flash(
        _("Almost done: open the link we sent to %(email)s to activate your account.", email=body["email"]), "success"
    )
    return redirect(url_for("web.citizen_login"))


@bp.get("/daftar/konfirmasi")
def confirm() -> ResponseReturnValue:
    """The link of the confirmation e-mail: the account becomes active."""
    try:
        citizens.verify_email(db.session(), secret(), request.args.get("token", "")[:1000])
        db.session.commit()
    except InvalidData as error:
        db.session.rollback()
        flash(_("This link does not work (%(reason)s). Register again.", reason=reason(error)), "error")
        return redirect(url_for("web.register"))
    flash(_("Your account is active. Sign in to see your complaints."), "success")
    return redirect(url_for("web.citizen_login"))


@bp.route("/akun/masuk", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def citizen_login() -> ResponseReturnValue:
    """Citizens sign in with the account they registered."""
    if request.method == "GET":
        return render_template("web/citizen_login.html", error=None, username="")
    username = request.form.get("username", "").strip()
    user = authenticate(db.session(), username, request.form.get("password", ""))
    if user is None or user.role != "reporter":
        error = _("Wrong username or password, or the account is not active yet.")
        return render_template("web/citizen_login.html", error=error, username=username), 401
    sign_in_citizen(user)
    return redirect(url_for("web.my_reports"))


@bp.route("/laporan-saya", methods=["GET", "POST"])
def my_reports() -> ResponseReturnValue:
    """The signed-in citizen's complaints, and a form to add one filed as a guest (with its secret code)."""
    citizen = current_citizen()
    if citizen is None:
        return redirect(url_for("web.citizen_login"))
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {"tracking_id": request.form.get("tracking_id", "").strip()}
        try:
            case = citizens.claim(db.session(), citizen, values["tracking_id"], request.form.get("token", "").strip())
            flash(_("Complaint %(id)s is now in your account.", id=case.tracking_id), "success")
            return redirect(url_for("web.my_reports"))
        except (NotFound, Conflict, InvalidData) as error:
            flash(_("The complaint was not added: %(reason)s", reason=reason(error)), "error")
    rows = [views.summary(c) for c in citizens.my_complaints(db.session(), citizen.username)]
    return render_template("web/my_reports.html", cases=rows, values=values)


def reason(error: InvalidData | NotFound | Conflict) -> str:
    """Why a command was refused, in the page's language where the text is known."""
    if isinstance(error, NotFound):
        return str(_("no complaint matches this tracking number and secret code"))
    if isinstance(error, Conflict):
        return str(_("it already belongs to an account"))
    from api.web import i18n

    return "; ".join(i18n.translate_error(m) for ms in error.errors.values() for m in ms) or error.message
