"""Schemas of incidents: cases (or intakes) the engine could not carry on."""

from __future__ import annotations

import marshmallow as ma


class IncidentQuerySchema(ma.Schema):
    open = ma.fields.Boolean(load_default=False, metadata={"description": "true: only unresolved incidents"})


class IncidentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    tracking_id = ma.fields.String(allow_none=True, metadata={"description": "null: a new case that was not created"})
    element = ma.fields.String(allow_none=True, metadata={"description": "the BPMN/DMN element that failed"})
    message = ma.fields.String(required=True, metadata={"description": "why, in plain words"})
    opened_at = ma.fields.DateTime(required=True)
    resolved_at = ma.fields.DateTime(allow_none=True, metadata={"description": "null: still open"})
