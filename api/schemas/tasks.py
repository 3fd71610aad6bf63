"""Task schemas: the inbox row, the task with its form, and completion."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.schemas.complaints import ComplaintSchema


class TaskComplaintSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class TaskSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    agency = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    state = ma.fields.String(required=True)
    complaint = ma.fields.Nested(TaskComplaintSchema, required=True)


class TaskDetailSchema(TaskSchema):
    form = ma.fields.Dict(required=True, metadata={"description": "JSON Schema of the completion data"})
    proposal = ma.fields.Dict(
        required=True,
        metadata={
            "description": "form values the diagram proposes, e.g. {agency} from the routing decision (may be empty)"
        },
    )
    case = ma.fields.Nested(ComplaintSchema, required=True)


class InboxQuerySchema(ma.Schema):
    assigned = ma.fields.String(validate=validate.OneOf(["me"]))
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 500))
    since = ma.fields.String(
        validate=validate.Length(0, 200), metadata={"description": "cursor from X-Next-Cursor; empty: the start"}
    )


class CompleteSchema(ma.Schema):
    data = ma.fields.Dict(required=True, metadata={"description": "validated against the task's form"})
    attachments = ma.fields.List(
        ma.fields.Integer(),
        validate=validate.Length(max=10),
        metadata={"description": "ids of files uploaded to the complaint, attached to the task's message"},
    )


class CompletedComplaintSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class CompletedSchema(ma.Schema):
    complaint = ma.fields.Nested(CompletedComplaintSchema, required=True)
    next_tasks = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)
