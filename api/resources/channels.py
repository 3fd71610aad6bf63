"""Channels: the SMS / WhatsApp gateway's signed callback."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.extensions import db
from api.schemas.channels import SmsAnswerSchema, SmsCallbackSchema
from engine.channels import Context, sms
from engine.notify.delivery import SIGNATURE_HEADER

blp = Blueprint("channels", __name__, description="Channels: SMS and WhatsApp gateway callbacks")


def signed_by_gateway(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Check the gateway's HMAC over the raw body before anything of the body is read (401 otherwise)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        secret = current_app.config.get("SMS_GATEWAY_SECRET")
        sms.verify(secret, request.get_data(cache=True), request.headers.get(SIGNATURE_HEADER))
        return fn(*args, **kwargs)

    return wrapper


def channel_context() -> Context:
    """The settings, public site and attachment store every channel adapter of this app shares."""
    config = current_app.config
    return Context(
        current_app.extensions["aduan.settings"], config.get("PUBLIC_URL") or request.host_url.rstrip("/"),
        Path(config["ATTACHMENTS_DIR"]),
    )  # fmt: skip


@blp.route("/channels/sms")
class SmsCallback(MethodView):
    @signed_by_gateway
    @blp.arguments(SmsCallbackSchema)
    @blp.response(200, SmsAnswerSchema)
    @blp.alt_response(401, description="Bad or missing X-Aduan-Signature")
    @blp.alt_response(409, description="received_at outside the replay window")
    def post(self, callback: sms.Callback) -> dict[str, Any]:
        """A message the gateway received (signed `X-Aduan-Signature: sha256=<hex HMAC of the body>`).

        Opens a complaint, replies on the sender's waiting case, or answers how to reach it; `reply` is
        the text to send back. A repeated `id` answers the first reply and changes nothing.
        """
        result = sms.receive(db.session(), callback, channel_context())
        return {"reply": result.reply} if result.reply else {}
