"""Channel schemas: the SMS / WhatsApp gateway's callback and the answer it gets."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from engine.channels.sms import CHANNELS, Callback


class SmsCallbackSchema(ma.Schema):
    """One message the gateway received: its id (idempotency key), the sender's number, the text, when."""

    id = ma.fields.String(required=True, validate=validate.Length(1, 200))
    from_ = ma.fields.String(
        required=True, data_key="from", validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="a phone number")
    )
    text = ma.fields.String(required=True, validate=validate.Length(1, 5000))
    received_at = ma.fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with a time zone"})
    channel = ma.fields.String(load_default="sms", validate=validate.OneOf(CHANNELS))

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Callback:
        return Callback(data["id"], data["from_"], data["text"], data["received_at"], data["channel"])


class SmsAnswerSchema(ma.Schema):
    reply = ma.fields.String(metadata={"description": "text the gateway sends back to the sender"})
