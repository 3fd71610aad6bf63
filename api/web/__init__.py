"""Web pages for citizens, staff, auditors and process owners, served at `/` by the same app.

Server-rendered Jinja pages on the engine's own functions (the service layer the JSON API uses, with
its scoping: another agency's case is the same 404). Staff sign in with a session cookie (Flask's
signed session); every POST of these pages carries a CSRF token (Flask-WTF), which the JSON API,
authenticated by bearer tokens and never by cookies, does not need. Indonesian first, English with
`?lang=en` (Flask-Babel).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import flask_babel
from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, format_date, format_datetime
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from api.web import i18n, sessions
from api.web.blueprint import HERE, bp
from engine.errors import EngineError

csrf = CSRFProtect()
babel = Babel()

# (the session cookie's settings are in engine/config.py: Flask has defaults for them, so setdefault here
# would never take effect)
DEFAULTS: dict[str, Any] = {
    # the JSON API authenticates by bearer token, never by cookie: only this blueprint's forms are checked
    "WTF_CSRF_CHECK_DEFAULT": False,
    "WTF_CSRF_TIME_LIMIT": None,  # valid as long as the session (a form left open over lunch still posts)
    "LOGIN_RATE_LIMIT": "10/minute",
    "BABEL_DEFAULT_LOCALE": i18n.DEFAULT_LOCALE,
}


def init_app(app: Flask) -> None:
    """Register the pages, CSRF protection and the languages on `app`."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config.get("TIMEZONE", "Asia/Jakarta"))
    compiled = Path(app.instance_path) / "translations"
    i18n.compile_catalogues(HERE / "translations", compiled)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(compiled))
    app.session_interface = sessions.CookieSessionInterface()
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    from api.web import (  # noqa: F401  (the modules register the routes)
        audit,
        citizens,
        incidents,
        intake,
        owner,
        places,
        public,
        staff,
        vendor,
    )

    app.register_blueprint(bp)


@bp.before_request
def start() -> None:
    """Forget what an earlier request cached in `g` (an app context may outlive one request, as in tests),
    then check the CSRF token of every state-changing request."""
    for key in ("web_actor", "web_agencies", current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")):
        g.pop(key, None)
    flask_babel.refresh()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.after_request
def after(response: Response) -> Response:
    return i18n.remember_locale(response)  # (security headers: api/headers.py, on every response)


@bp.context_processor
def helpers() -> dict[str, Any]:
    from api.web import common, element_names, login, vendor

    return {
        "actor": login.current_staff(),
        "citizen": login.current_citizen(),
        "locale": i18n.select_locale(),
        "i18n": i18n,
        "agency_name": common.agency_name,
        "category_name": common.category_name,
        "element_name": element_names.element_name,
        "vendor_installed": vendor.installed(),
    }


@bp.app_template_filter("when")
def when(value: datetime | None, style: str = "medium") -> str:
    """A moment in the deployment's time zone and the page's language: `3 Des 2026 23.59 WIB` (Indonesian
    writes the time with a dot), `3 Dec 2026 23:59 WIB`; every style shows the same day, time and zone."""
    if value is None:
        return "—"
    pattern = "d MMM y HH.mm" if str(flask_babel.get_locale()) == "id" else "d MMM y HH:mm"
    return f"{format_datetime(value, pattern)} {i18n.zone_name(value)}"


@bp.app_template_filter("day")
def day(value: Any) -> str:
    return "—" if value is None else format_date(value, "medium")


def _engine_error(error: EngineError) -> Any:
    from api.web.common import engine_error_page

    return engine_error_page(error)


def _http_error(error: HTTPException | CSRFError) -> Any:
    from api.web.common import http_error_page

    return http_error_page(error)


bp.register_error_handler(EngineError, _engine_error)
bp.register_error_handler(HTTPException, _http_error)
