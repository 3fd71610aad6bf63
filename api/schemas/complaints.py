"""Complaint schemas: what a reporter may send (and nothing else), and the views the API answers."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import validate

from engine.cases.lifecycle import KINDS
from engine.channels.counters import CHANNELS

STATUSES = ("submitted", "needs_info", "dispositioned", "in_progress", "awaiting_reporter", "closed", "archived")


class ReporterSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    email = ma.fields.Email(validate=validate.Length(max=200))
    phone = ma.fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="a phone number"))


def not_in_future(value: date) -> None:
    if value > date.today():
        raise ma.ValidationError("must not be in the future")


class ComplaintCreateSchema(ma.Schema):
    """A new complaint. Status, agency decisions and escalation are the workflow's: they cannot be sent."""

    title = ma.fields.String(required=True, validate=validate.Length(3, 200))
    body = ma.fields.String(required=True, validate=validate.Length(10, 10_000))
    kind = ma.fields.String(load_default="complaint", validate=validate.OneOf(KINDS))
    category = ma.fields.String(validate=validate.Length(1, 64))
    agency = ma.fields.String(validate=validate.Length(1, 200))
    location = ma.fields.String(validate=validate.Length(1, 300))
    latitude = ma.fields.Float(validate=validate.Range(-90, 90), metadata={"description": "WGS84 degrees (~1 m kept)"})
    longitude = ma.fields.Float(validate=validate.Range(-180, 180), metadata={"description": "WGS84 degrees"})
    area = ma.fields.String(validate=validate.Length(1, 64), metadata={"description": "area code; else from the point"})
    occurred_on = ma.fields.Date(validate=not_in_future)
    channel = ma.fields.String(
        load_default="web", validate=validate.OneOf(CHANNELS),
        metadata={"description": "kotak_saran, loket, telepon, surat: staff typing it in; sms, whatsapp, email, "
                  "open311 arrive through their channels"},
    )  # fmt: skip
    anonymous = ma.fields.Boolean(load_default=False)
    confidential = ma.fields.Boolean(load_default=False)
    reporter = ma.fields.Nested(ReporterSchema)


class FollowUpSchema(ma.Schema):
    at = ma.fields.DateTime(required=True)
    agency = ma.fields.String(allow_none=True)
    message = ma.fields.String(required=True)


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    filename = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)


class MessageSchema(ma.Schema):
    """One message of the case's thread; `author` is absent where the caller may not see who wrote it."""

    id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    author_role = ma.fields.String(required=True)
    author = ma.fields.String()
    audience = ma.fields.String(required=True, metadata={"enum": ["reporter", "staff"]})
    body = ma.fields.String(required=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)


class MessageCreateSchema(ma.Schema):
    """A message: staff choose `reporter` or `staff` (default, an internal note); a reporter always
    writes to the reporter thread. `attachments` are ids of files already uploaded to the complaint."""

    body = ma.fields.String(required=True, validate=validate.Length(1, 5000))
    audience = ma.fields.String(validate=validate.OneOf(["reporter", "staff"]))
    attachments = ma.fields.List(ma.fields.Integer(), validate=validate.Length(max=10))


class ComplaintSummarySchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    category = ma.fields.String(allow_none=True)
    agency = ma.fields.String(allow_none=True)
    anonymous = ma.fields.Boolean(required=True)
    confidential = ma.fields.Boolean(required=True)
    escalated = ma.fields.Boolean(required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class ComplaintSchema(ComplaintSummarySchema):
    """The complaint view; fields the caller may not see are absent."""

    body = ma.fields.String(required=True)
    location = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    area = ma.fields.String(allow_none=True)
    supporters = ma.fields.Integer(metadata={"description": "citizens following it (dukungan)"})
    occurred_on = ma.fields.Date(allow_none=True)
    channel = ma.fields.String(required=True)
    entered_by = ma.fields.String(allow_none=True, metadata={"description": "staff who typed it in (staff only)"})
    process_key = ma.fields.String()
    process_version = ma.fields.Integer()
    close_reason = ma.fields.String(allow_none=True)
    rating = ma.fields.Integer(allow_none=True)
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpSchema), required=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))
    attributes = ma.fields.Dict(allow_none=True, metadata={"description": "answers to the category's form"})
    media_url = ma.fields.String(allow_none=True, metadata={"description": "a photo hosted by the reporter's app"})
    messages = ma.fields.List(ma.fields.Nested(MessageSchema), required=True)
    reporter = ma.fields.Nested(ReporterSchema)


class ComplaintCreatedSchema(ComplaintSchema):
    reporter_token = ma.fields.String(required=True, metadata={"description": "secret: keep it to follow up"})


class ComplaintQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    agency = ma.fields.String(validate=validate.Length(1, 200))
    category = ma.fields.String(validate=validate.Length(1, 64))
    channel = ma.fields.String(validate=validate.OneOf(CHANNELS))
    area = ma.fields.String(validate=validate.Length(1, 64))
    q = ma.fields.String(validate=validate.Length(1, 200), metadata={"description": "words or a phrase (full text)"})
    escalated = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(1, 100))


class ComplaintPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ComplaintSummarySchema), required=True)
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


class ReplySchema(ma.Schema):
    message = ma.fields.String(validate=validate.Length(1, 5000))
    satisfied = ma.fields.Boolean(allow_none=True)
    rating = ma.fields.Integer(allow_none=True, validate=validate.Range(1, 5))


class EventSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    type = ma.fields.String(required=True)
    actor = ma.fields.String(required=True)
    actor_role = ma.fields.String(required=True)
    task = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(required=True)
    prev_hash = ma.fields.String(required=True)
    hash = ma.fields.String(required=True)


class AttachmentUploadSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
