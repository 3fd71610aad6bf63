"""The flask-smorest `Api`: OpenAPI generation and one JSON error shape for every failure.

Errors are `{"code": int, "status": str, "message": str, "errors": {...}}`. Engine errors map to one
status each; anything unexpected is logged and answered as a 500 in the same shape (and is a bug).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_smorest import Api
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    InvalidData,
    InvalidProcess,
    NotFound,
    Throttled,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[EngineError], int] = {
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    Conflict: 409,
    InvalidData: 422,
    InvalidProcess: 422,
    Throttled: 429,
}
NAMES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
    422: "Unprocessable Entity", 429: "Too Many Requests",
}  # fmt: skip


def error_body(code: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "status": NAMES.get(code, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    return body


class AduanApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with the contract's error shape (a message always present)."""

    def handle_http_exception(self, error: HTTPException) -> tuple[Response, int, dict[str, str]]:
        data = getattr(error, "data", None) or {}
        errors = flatten_locations(data.get("errors") or data.get("messages"))
        message = data.get("message") or _summary(error, errors)
        body = {"code": error.code, "status": error.name, "message": message}
        if errors:
            body["errors"] = errors
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        return jsonify(body), error.code or 500, headers


LOCATIONS = frozenset({"json", "query", "form", "files", "headers", "view_args", "json_or_form"})


def flatten_locations(errors: Any) -> dict[str, Any] | None:
    """webargs nests errors by location (`{"json": {"title": [...]}}`); clients want them by field."""
    if not isinstance(errors, dict) or not errors:
        return None
    if not set(errors) <= LOCATIONS:
        return errors
    flat: dict[str, Any] = {}
    for location, part in errors.items():
        if isinstance(part, dict):
            flat.update(part)
        else:
            flat[location] = part
    return flat


def _summary(error: HTTPException, errors: dict[str, Any] | None) -> str:
    if errors:
        return "invalid " + ", ".join(sorted(errors))
    return error.description or error.name


MAX_JSON_DEPTH = 32
INT_RANGE = (-(2**63), 2**63 - 1)  # the widest integer column; beyond it no stored value can match
UNUSABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: not storable, never meaningful


def _bad_text(text: str) -> bool:
    return UNUSABLE.search(text) is not None


def _json_findings(document: Any) -> dict[str, list[str]]:
    """Field → problem for each unusable string, out-of-range integer or too-deep nesting (no recursion:
    the document may be nested as deep as the parser allowed)."""
    findings: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        field = path or "body"
        if depth > MAX_JSON_DEPTH:
            findings[field] = [f"nested deeper than {MAX_JSON_DEPTH} levels"]
        elif isinstance(value, str) and _bad_text(value):
            findings[field] = ["must not contain NUL characters or lone surrogates"]
        elif isinstance(value, int) and not isinstance(value, bool) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            findings[field] = ["number out of range"]
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}".strip(".") if not _bad_text(key) else f"{path}.?".strip(".")
                if _bad_text(key):
                    findings[child] = ["field names must not contain NUL characters or lone surrogates"]
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}".strip("."), depth + 1) for i, item in enumerate(value))
    return findings


def _json_document() -> tuple[Any, str | None]:
    """The request's JSON, or why it cannot be read (too deep for the parser, a number too long, bad syntax)."""
    try:
        return request.get_json(silent=False), None
    except RecursionError:
        return None, "malformed JSON: nested too deep"
    except (BadRequest, ValueError):
        return None, "malformed JSON"


def reject_unusable_input() -> tuple[Response, int] | None:
    """Refuse up front what no handler could use and the database could not store: a multipart part without
    a field name, JSON that cannot be parsed or nests too deep, integers beyond any column, and NUL
    characters or lone surrogates in any text (path, query, form, file names, JSON keys and values)."""
    try:
        form = list(request.form.items(multi=True))
        files = list(request.files.items(multi=True))
    except (ValueError, BadRequest):  # werkzeug could not split the multipart body
        return jsonify(error_body(400, "malformed multipart body", {"body": ["cannot be parsed"]})), 400
    if any(name is None for name, _ in form + files):
        errors = {"form": ["every multipart part needs a field name"]}
        return jsonify(error_body(400, "malformed multipart body", errors)), 400
    errors = {f: ["must not contain NUL characters or lone surrogates"] for f in _text_fields(form, files)}
    if request.is_json and request.get_data(cache=True):
        document, problem = _json_document()
        if problem:
            return jsonify(error_body(400, problem, {"body": [problem]})), 400
        errors.update(_json_findings(document))
    if not errors:
        return None
    code = 400 if any("nested deeper" in m[0] for m in errors.values()) else 422
    return jsonify(error_body(code, "invalid " + ", ".join(sorted(errors)), errors)), code


def _text_fields(form: list[tuple[Any, Any]], files: list[tuple[Any, Any]]) -> list[str]:
    fields = ["path"] if _bad_text(request.path) else []
    fields += [f"query.{k}" for k, v in request.args.items(multi=True) if _bad_text(k + v)]
    fields += [f"form.{k}" for k, v in form if _bad_text(k + v)]
    fields += [f"files.{k}" for k, f in files if _bad_text(k + (f.filename or ""))]
    return fields


def handle_engine_error(error: EngineError) -> tuple[Response, int, dict[str, str]]:
    code = next((status for kind, status in STATUS_OF.items() if isinstance(error, kind)), 400)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Throttled) else {}
    return jsonify(error_body(code, error.message, error.errors)), code, headers


def handle_integrity_error(error: IntegrityError) -> tuple[Response, int]:
    """A uniqueness or reference race the engine's checks could not see coming (e.g. two equal creates)."""
    from api.extensions import db

    db.session.rollback()
    log.info("integrity conflict: %s", error.orig)
    return jsonify(error_body(409, "conflicts with a concurrent change (duplicate or missing reference)")), 409


def handle_unexpected(error: Exception) -> tuple[Response, int]:
    log.exception("unhandled error", exc_info=error)
    server = InternalServerError()
    return jsonify({"code": 500, "status": server.name, "message": "internal error; it has been logged"}), 500


class ColumnInteger(IntegerConverter):
    """`<int:…>` in every route matches only what an integer column can hold: an id beyond it is a 404 (no
    such thing), never a database overflow."""

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = 0, max: int | None = 2**31 - 1) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max)


class TrackingId(BaseConverter):
    """`<tracking:…>`: a complaint's tracking id (`ADU-7K3F-9QXM`, any case). A literal path beside it, such as
    `/complaints/similar`, is never taken for a tracking id, in the routes or in the OpenAPI document."""

    regex = r"(?i:ADU-[0-9A-Z]{4}-[0-9A-Z]{4})"


def tracking_id_schema(_converter: BaseConverter) -> dict[str, str]:
    return {"type": "string", "pattern": "^[Aa][Dd][Uu]-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}$"}


api = AduanApi()
api.register_converter(TrackingId, tracking_id_schema)  # once: every init_app documents it from here


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Aduan")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.url_map.converters["tracking"] = TrackingId
    api.init_app(app, spec_kwargs={"components": {"securitySchemes": _SECURITY}})
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.before_request(reject_unusable_input)
    app.url_map.converters["int"] = ColumnInteger
    if not app.config.get("TESTING") or app.config.get("ADUAN_HIDE_ERRORS"):
        app.register_error_handler(Exception, handle_unexpected)


_SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "reporterToken": {"type": "apiKey", "in": "header", "name": "X-Reporter-Token"},
}
