"""The flask-smorest `Api`: OpenAPI generation and one JSON error shape for every failure.

Errors are `{"code": int, "status": str, "message": str, "errors": {...}}`. Engine errors map to one
status each; anything unexpected is logged and answered as a 500 in the same shape (and is a bug).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_smorest import Api
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import Conflict, EngineError, Forbidden, InvalidData, InvalidProcess, NotFound, Throttled

log = logging.getLogger(__name__)

STATUS_OF: dict[type[EngineError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    InvalidData: 422,
    InvalidProcess: 422,
    Throttled: 429,
}
NAMES = {
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity",
    429: "Too Many Requests",
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


def _nul_fields(value: Any, path: str) -> list[str]:
    """Paths of every string (key or value) in a JSON document that contains a NUL character."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = [f"{path}.{k}".strip(".") for k in value if isinstance(k, str) and "\x00" in k]
        return found + [f for k, v in value.items() for f in _nul_fields(v, f"{path}.{k}".strip("."))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, f"{path}.{i}".strip("."))]
    return []


def reject_nul_characters() -> tuple[Response, int] | None:
    """NUL cannot be stored (PostgreSQL text refuses it) and is never meaningful input: refuse it up front."""
    fields = ["path"] if "\x00" in request.path else []
    fields += [f"query.{k}" for k, v in request.args.items(multi=True) if "\x00" in k + v]
    fields += [f"form.{k}" for k, v in request.form.items(multi=True) if "\x00" in k + v]
    fields += [f"files.{k}" for k, f in request.files.items(multi=True) if "\x00" in (f.filename or "")]
    if request.is_json:
        fields += _nul_fields(request.get_json(silent=True), "")
    if not fields:
        return None
    errors = {f or "body": ["must not contain NUL characters"] for f in fields}
    return jsonify(error_body(422, "invalid " + ", ".join(sorted(errors)), errors)), 422


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


api = AduanApi()


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Aduan")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api.init_app(app, spec_kwargs={"components": {"securitySchemes": _SECURITY}})
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.before_request(reject_nul_characters)
    if not app.config.get("TESTING") or app.config.get("ADUAN_HIDE_ERRORS"):
        app.register_error_handler(Exception, handle_unexpected)


_SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "reporterToken": {"type": "apiKey", "in": "header", "name": "X-Reporter-Token"},
}
