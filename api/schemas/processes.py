"""Schemas of process and decision versions, deployment and migration of running cases."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from engine.cases.case import Status

FINDINGS = "findings by file name; each names the element and, for XML, the line"


class UploadSchema(ma.Schema):
    files = ma.fields.List(
        ma.fields.Raw(metadata={"type": "string", "format": "binary"}),
        required=True,
        validate=validate.Length(1, 40),
        metadata={
            "description": "A lifecycle version (its .bpmn files with their .dmn and form .json files), "
            "or one .dmn decision deployed on its own. UTF-8, at most 1 MB each."
        },
    )


class ActivateSchema(ma.Schema):
    activate = ma.fields.Boolean(
        load_default=True,
        truthy={"true"},
        falsy={"false"},
        metadata={"description": "false: store the version without activating it (new cases keep the active one)"},
    )


class FindingSchema(ma.Schema):
    file = ma.fields.String(required=True, metadata={"description": "the file, or `files` for the upload as a whole"})
    element = ma.fields.String(allow_none=True, metadata={"description": "the BPMN/DMN element id"})
    line = ma.fields.Integer(allow_none=True, metadata={"description": "the line of the element in its file"})
    message = ma.fields.String(required=True)


class ValidatedSchema(ma.Schema):
    valid = ma.fields.Boolean(required=True)
    findings = ma.fields.List(ma.fields.Nested(FindingSchema), required=True)


class KeySchema(ma.Schema):
    key = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "process or decision"})
    version = ma.fields.Integer(allow_none=True, metadata={"description": "the active version"})
    versions = ma.fields.List(ma.fields.Integer(), required=True)


class DeployedSchema(ma.Schema):
    key = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    active = ma.fields.Boolean(required=True)
    hash = ma.fields.String(required=True)
    created = ma.fields.Boolean(required=True, metadata={"description": "false: the same files were deployed before"})


class VersionSchema(ma.Schema):
    key = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    active = ma.fields.Boolean(required=True)
    deployed_by = ma.fields.String(required=True)
    deployed_at = ma.fields.DateTime(required=True)
    activated_by = ma.fields.String(allow_none=True)
    activated_at = ma.fields.DateTime(allow_none=True)
    hash = ma.fields.String(required=True)
    decisions = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "decision id → bundled (fixed for this version) or shared (its active version)"},
    )
    changes = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "against the previous version: files, and elements (or rules) added/removed/changed"},
    )


class VersionDetailSchema(VersionSchema):
    source = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        required=True,
        metadata={"description": "every file of the version as deployed (BPMN with its diagram interchange)"},
    )


ELEMENT_ID = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$", error="a BPMN element id")


def mapping_field() -> ma.fields.Dict:
    """Camunda-style migration mapping: elements renamed or replaced in the target."""
    return ma.fields.Dict(
        keys=ma.fields.String(validate=ELEMENT_ID),
        values=ma.fields.String(validate=ELEMENT_ID),
        validate=validate.Length(max=100),
        load_default=dict,
        metadata={"description": "elements renamed or replaced in the target: {old element id: new element id}"},
    )


class MigrateSchema(ma.Schema):
    to_version = ma.fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    dry_run = ma.fields.Boolean(load_default=False, metadata={"description": "report only; change nothing"})
    mapping = mapping_field()


class BulkMigrateSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True, metadata={"description": "true: report only; change nothing"})
    mapping = mapping_field()
    status = ma.fields.List(
        ma.fields.String(validate=validate.OneOf([s.value for s in Status])),
        validate=validate.Length(max=10),
        metadata={"description": "only cases in these statuses"},
    )
    limit = ma.fields.Integer(load_default=500, validate=validate.Range(1, 5000))


class MigrationSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    from_version = ma.fields.Integer(required=True)
    to_version = ma.fields.Integer(required=True)
    result = ma.fields.String(required=True, metadata={"description": "migrated, migratable (dry run) or refused"})
    reasons = ma.fields.List(ma.fields.String(), required=True)
    diff = ma.fields.Dict(metadata={"description": "elements added, removed and changed"})
    decisions = ma.fields.Dict(
        metadata={"description": "decisions evaluated again with the new table: {element: {output: [old, new]}}"}
    )
    deadlines = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "open tasks whose deadline moves: [{task, name, from, to}] (UTC, ISO 8601)"},
    )
    next_timer = ma.fields.List(
        ma.fields.String(allow_none=True), allow_none=True, metadata={"description": "[before, after] when it moves"}
    )


class BulkReportSchema(ma.Schema):
    key = ma.fields.String(required=True)
    to_version = ma.fields.Integer(required=True)
    dry_run = ma.fields.Boolean(required=True)
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    cases = ma.fields.List(ma.fields.Nested(MigrationSchema), required=True)
