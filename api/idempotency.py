"""The `Idempotency-Key` header on commands: a retried request answers its first result.

`@idempotent` wraps a handler (inside `require`, outside the schema decorators). Without the header the
handler runs as usual. With it, the first request runs and its answer — success or the engine's refusal
— is stored under (caller, key); a retry with the same request answers that stored answer with
`Idempotent-Replayed: true` and runs nothing; the same key with a different request is a 422. The
bookkeeping is `engine.channels.idempotency`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, jsonify, make_response, request

from api.auth import current_actor
from api.extensions import db
from api.rest import handle_engine_error
from engine.channels import idempotency
from engine.errors import EngineError

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
DOC: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
            "description": "a retry with the same key and request answers the first answer and changes nothing",
        }
    ]
}  # `@blp.doc(**DOC)` beside `@idempotent`


def _owner() -> str | None:
    """Keys are the caller's own: a signed-in caller, or the guest holding a reporter token."""
    actor = current_actor()
    if actor is not None:
        return actor.username
    token = request.headers.get("X-Reporter-Token")
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:40] if token else None


def _request_fingerprint() -> str:
    """Method, path and body; uploaded files by name and content (a multipart boundary changes per try)."""
    files = []
    for name, upload in request.files.items(multi=True):
        files.append((name, upload.filename, hashlib.sha256(upload.stream.read()).hexdigest()))
        upload.stream.seek(0)
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict(flat=False)
    return idempotency.fingerprint(request.method, request.path, body, files)


def _stored(response: Response) -> Any:
    return response.get_json(silent=True)


def idempotent(handler: F) -> F:
    """Answer a retried request (same `Idempotency-Key`, same request) with its first answer."""

    @wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key, owner = request.headers.get(HEADER), _owner()
        if key is None or owner is None:
            return handler(*args, **kwargs)
        session = db.session()
        outcome = idempotency.begin(session, owner, key, _request_fingerprint())
        if isinstance(outcome, idempotency.Replay):
            return jsonify(outcome.response), outcome.status_code, {REPLAYED: "true", HEADER: key}
        try:
            response = make_response(handler(*args, **kwargs))
        except EngineError as refusal:  # the engine's answer to this request: retries get the same
            response = make_response(handle_engine_error(refusal))
        except BaseException:
            idempotency.release(session, outcome)
            raise
        idempotency.finish(session, outcome, response.status_code, _stored(response))
        response.headers[HEADER] = key
        return response

    return cast(F, wrapper)
