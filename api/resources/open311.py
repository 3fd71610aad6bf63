"""Open311 GeoReport v2 at /open311/v2: services, service requests and tokens, each `.json` or `.xml`.

Civic apps speak the standard as it is (form-encoded POST with `api_key`, errors as `[{code,
description}]`), so this is a plain Flask blueprint outside the JSON API and its error shape. Each
handler parses, calls one function of engine.channels.open311 and renders with api.georeport.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from api import georeport
from api.extensions import db, limiter
from api.schemas.open311 import KeyQuerySchema, NewRequestSchema, RequestQuerySchema, comma_list, split_attributes
from engine.cases.access import Actor
from engine.channels import open311
from engine.directory.categories import Category
from engine.errors import EngineError, Forbidden, InvalidData

blp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
STATUS_OF = {"InvalidData": 400, "NotFound": 404, "Forbidden": 403, "Conflict": 409}


def _fmt() -> str:
    return str((request.view_args or {}).get("fmt", "json"))


def _load(schema: ma.Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(schema.load(data))
    except ma.ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"request": exc.messages}
        raise InvalidData("invalid request", errors) from exc


def _app(api_key: str | None) -> Actor | None:
    """The app of a given key; a key that is given but unknown is refused rather than ignored."""
    if api_key is None:
        return None
    app = open311.app_actor(db.session(), api_key)
    if app is None:
        raise Forbidden("invalid api_key", {"api_key": ["unknown or revoked key"]})
    return app


@blp.errorhandler(EngineError)
def engine_error(error: EngineError) -> Response:
    db.session.rollback()
    status = STATUS_OF.get(type(error).__name__, 400)
    problems = [f"{field}: {'; '.join(map(str, messages))}" for field, messages in error.errors.items()]
    return georeport.render_errors(status, problems or [error.message], _fmt())


@blp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return georeport.render_errors(error.code or 500, [error.description or error.name], _fmt())


@blp.get(f"/services.{FMT}")
def services(fmt: str) -> Response:
    """Every service (complaint category) with whether it has attributes (`metadata`)."""
    _load(KeyQuerySchema(), request.args.to_dict())
    return georeport.render_list("services", [_service(c) for c in open311.services(db.session())], fmt)


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code, "service_name": category.name, "description": category.name,
        "metadata": bool(open311.attributes(category)), "type": "realtime", "keywords": "", "group": "",
    }  # fmt: skip


@blp.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str) -> Response:
    """The attributes of one service, from its category's form."""
    _load(KeyQuerySchema(), request.args.to_dict())
    category = open311.service(db.session(), code)
    return georeport.render_definition({"service_code": category.code, "attributes": open311.attributes(category)}, fmt)


@blp.post(f"/requests.{FMT}")
@limiter.limit(lambda: current_app.config["INTAKE_RATE_LIMIT"])
def file_request(fmt: str) -> Response:
    """File a service request (form-encoded, with `api_key`): answers its `service_request_id` and token."""
    fields, answers = split_attributes(request.form.to_dict(flat=False))
    data = _load(NewRequestSchema(), fields)
    app = _app(data.pop("api_key"))
    assert app is not None
    for ignored in ("jurisdiction_id", "device_id", "account_id"):
        data.pop(ignored, None)
    settings = current_app.extensions["aduan.settings"]
    case = open311.file_request(db.session(), app, open311.NewRequest(**data, attributes=answers), settings)
    token = open311.token_for(case.tracking_id, current_app.config["SECRET_KEY"])
    item = {"service_request_id": case.tracking_id, "token": token, "service_notice": "", "account_id": None}
    return georeport.render_list("requests", [item], fmt, 201)


@blp.get(f"/requests.{FMT}")
def list_requests(fmt: str) -> Response:
    """Public requests (and the asking app's own) matching the standard's filters, newest first."""
    query = _load(RequestQuerySchema(), request.args.to_dict())
    app = _app(query.get("api_key"))
    filters = open311.RequestQuery(
        ids=comma_list(query.get("service_request_id")),
        service_codes=comma_list(query.get("service_code")),
        statuses=comma_list(query.get("status")),
        start=query.get("start_date"),
        end=query.get("end_date"),
    )
    session = db.session()
    items = open311.request_views(session, open311.find_requests(session, app, filters), app)
    return georeport.render_list("requests", items, fmt)


@blp.get(f"/requests/<service_request_id>.{FMT}")
def get_request(service_request_id: str, fmt: str) -> Response:
    """One request: public, or filed by the asking app (`api_key`); 404 otherwise."""
    query = _load(KeyQuerySchema(), request.args.to_dict())
    session = db.session()
    app = _app(query.get("api_key"))
    case = open311.get_request(session, app, service_request_id)
    return georeport.render_list("requests", open311.request_views(session, [case], app), fmt)


@blp.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> Response:
    """The request id a filing token stands for."""
    _load(KeyQuerySchema(), request.args.to_dict())
    tracking_id = open311.tracking_id_of(token, current_app.config["SECRET_KEY"])
    return georeport.render_list("requests", [{"service_request_id": tracking_id, "token": token}], fmt)
