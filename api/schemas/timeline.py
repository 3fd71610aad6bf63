"""Timeline and export schemas: a case's events and reads for auditors; export formats and periods."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.schemas.stats import StatsQuerySchema

DEADLINES = ("met", "missed", "overdue", "pending", "cancelled", "none")


class BrokenLinkSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    reason = ma.fields.String(required=True)


class ChainSchema(ma.Schema):
    valid = ma.fields.Boolean(required=True)
    events = ma.fields.Integer(required=True)
    broken = ma.fields.Nested(BrokenLinkSchema, allow_none=True, metadata={"description": "the first broken link"})


class TimelineTaskSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    title = ma.fields.String()
    role = ma.fields.String()
    agency = ma.fields.String(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    state = ma.fields.String()
    created_at = ma.fields.DateTime()
    due_at = ma.fields.DateTime(allow_none=True)
    ended_at = ma.fields.DateTime(allow_none=True)
    completed_by = ma.fields.String(allow_none=True)
    deadline = ma.fields.String(validate=validate.OneOf(DEADLINES))


class EntrySchema(ma.Schema):
    """An event (`kind: event`) or an auditor's read (`kind: read`), in time order."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(("event", "read")))
    at = ma.fields.DateTime(required=True)
    actor = ma.fields.String(required=True)
    actor_role = ma.fields.String(required=True)
    seq = ma.fields.Integer()
    type = ma.fields.String()
    task = ma.fields.String(allow_none=True)
    changes = ma.fields.Dict(metadata={"description": "read-model columns changed: {column: [old, new]}"})
    elements = ma.fields.List(ma.fields.String(), metadata={"description": "BPMN ids of the elements passed"})
    opened = ma.fields.List(ma.fields.Dict(), metadata={"description": "tasks opened, with their deadlines"})
    data = ma.fields.Dict(metadata={"description": "the rest of the event: form input, reply, follow-ups…"})
    deadline = ma.fields.String(validate=validate.OneOf(DEADLINES))
    prev_hash = ma.fields.String()
    hash = ma.fields.String()
    what = ma.fields.String(metadata={"description": "what a read looked at"})


class ProcessRefSchema(ma.Schema):
    key = ma.fields.String()
    version = ma.fields.Integer()


class TimelineSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    process = ma.fields.Nested(ProcessRefSchema, allow_none=True)
    chain = ma.fields.Nested(ChainSchema, required=True)
    elements = ma.fields.List(ma.fields.String(), metadata={"description": "every element passed, in order"})
    migrations = ma.fields.List(ma.fields.Nested(EntrySchema))
    tasks = ma.fields.List(ma.fields.Nested(TimelineTaskSchema))
    entries = ma.fields.List(ma.fields.Nested(EntrySchema))


class HistoryExportQuerySchema(ma.Schema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class CasesExportQuerySchema(StatsQuerySchema):
    """The cases of a period (local dates of submission, inclusive), optionally one agency's subtree."""
