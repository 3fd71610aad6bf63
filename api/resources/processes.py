"""Processes: deploy, list, read and activate versions; migrate running cases (one, or all with a dry run).

Process owners deploy, activate and migrate; auditors may read versions. A complaint is looked up in the
process owner's scope (their jurisdiction), so another jurisdiction's complaint is a 404.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.datastructures import FileStorage

from api.auth import require, staff
from api.extensions import db
from api.schemas.processes import (
    FINDINGS,
    ActivateSchema,
    BulkMigrateSchema,
    BulkReportSchema,
    DeployedSchema,
    KeySchema,
    MigrateSchema,
    MigrationSchema,
    UploadSchema,
    ValidatedSchema,
    VersionDetailSchema,
    VersionSchema,
)
from engine.cases import lifecycle
from engine.cases.visibility import figures_scope, get_for_migration
from engine.errors import Conflict, InvalidProcess, NotFound
from engine.processes import migration
from engine.processes import registry as processes
from engine.processes.validation import MAX_FILE_CHARS, Findings, decode, findings_of

blp = Blueprint("processes", __name__, description="Process and decision versions; migration of running cases")
OWNER = "process_owner"
READERS = ("process_owner", "auditor")
VERSION_FIELDS = (
    "key", "kind", "version", "active", "deployed_by", "deployed_at", "activated_by", "activated_at", "hash",
    "decisions", "changes",
)  # fmt: skip
MEDIA_TYPES = {".bpmn": "application/xml", ".dmn": "application/xml", ".json": "application/json"}


def read_uploads(uploads: list[FileStorage]) -> dict[str, str]:
    """The uploaded files as text by file name (XML in its declared encoding); InvalidProcess names each file
    that is not text or too big."""
    findings, files = Findings(), {}
    for upload in uploads:
        name = upload.filename or "(no name)"
        raw = upload.stream.read(4 * MAX_FILE_CHARS + 1)
        if name in files:
            findings.add(name, "uploaded twice")
        elif len(raw) > 4 * MAX_FILE_CHARS:
            findings.add(name, f"larger than {MAX_FILE_CHARS} characters")
        elif (text := decode(name, raw, findings)) is not None:
            files[name] = text
    findings.raise_if_any("invalid upload")
    return files


def version_view(version: processes.ProcessVersion, source: bool = False) -> dict[str, Any]:
    view = {name: getattr(version, name) for name in VERSION_FIELDS}
    if source:
        view["source"] = version.source
    return view


@blp.route("/processes")
class Processes(MethodView):
    @require(*READERS)
    @blp.response(200, KeySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every process and shared decision: its active version and all its versions."""
        return [asdict(summary) for summary in processes.keys(db.session())]

    @require(OWNER)
    @blp.arguments(UploadSchema, location="files")
    @blp.arguments(ActivateSchema, location="form")
    @blp.response(201, DeployedSchema)
    @blp.alt_response(200, schema=DeployedSchema, description="The same files are already a version")
    @blp.alt_response(422, description=FINDINGS)
    def post(self, upload: dict[str, Any], form: dict[str, Any]) -> Any:
        """Deploy the next version of a process (its whole set of files) or of one shared decision (a .dmn).

        Everything is checked before anything is stored: XML, lanes, forms, timers, called processes and
        decisions, and a dry run of the main path and its branches. The new version becomes active (new
        cases start on it; running cases stay on theirs) unless `activate` is false.
        """
        files = read_uploads(upload["files"])
        deployment = processes.deploy_files(db.session(), files, staff().username, activate=form["activate"])
        db.session.commit()
        version = deployment.version
        body = {**version_view(version), "created": deployment.created}
        location = f"/api/v1/processes/{version.key}/versions/{version.version}"
        return body, 201 if deployment.created else 200, {"Location": location}


@blp.route("/processes/validate")
class Validate(MethodView):
    @require(OWNER)
    @blp.arguments(UploadSchema, location="files")
    @blp.response(200, ValidatedSchema)
    def post(self, upload: dict[str, Any]) -> dict[str, Any]:
        """Check files as `POST /processes` would, storing nothing: every finding at once."""
        findings = Findings()
        try:
            files = read_uploads(upload["files"])
        except InvalidProcess as exc:
            return {"valid": False, "findings": [asdict(f) for f in findings_of(exc)]}
        findings.extend(processes.validate_files(db.session(), files))
        return {"valid": not findings, "findings": [asdict(f) for f in findings.items]}


@blp.route("/processes/<key>/versions")
class Versions(MethodView):
    @require(*READERS)
    @blp.response(200, VersionSchema(many=True))
    def get(self, key: str) -> list[dict[str, Any]]:
        """Every version of the key: who deployed it and when, whether active, and what changed."""
        return [version_view(v) for v in processes.versions(db.session(), key[:100])]


@blp.route("/processes/<key>/versions/<int:number>")
class VersionItem(MethodView):
    @require(*READERS)
    @blp.response(200, VersionDetailSchema)
    def get(self, key: str, number: int) -> dict[str, Any]:
        """One version with its files as deployed (for viewers: the BPMN keeps its diagram interchange)."""
        return version_view(processes.get_version(db.session(), key[:100], number), source=True)


@blp.route("/processes/<key>/versions/<int:number>/files/<filename>")
class VersionFile(MethodView):
    @require(*READERS)
    @blp.response(200, description="The file as deployed (application/xml or application/json)")
    def get(self, key: str, number: int, filename: str) -> Response:
        """One file of a version, as a viewer such as bpmn-js loads it."""
        version = processes.get_version(db.session(), key[:100], number)
        if filename not in version.source:
            raise NotFound(f"no file {filename!r} in version {number} of {key!r}")
        media = MEDIA_TYPES.get(filename[filename.rfind(".") :], "text/plain")
        return Response(version.source[filename], mimetype=media)


@blp.route("/processes/<key>/versions/<int:number>/activate")
class Activate(MethodView):
    @require(OWNER)
    @blp.response(200, VersionSchema)
    @blp.alt_response(422, description="The version no longer passes the checks (" + FINDINGS + ")")
    def post(self, key: str, number: int) -> dict[str, Any]:
        """Make this version the active one: upgrade, or roll back to an earlier version."""
        version = processes.activate(db.session(), key[:100], number, staff().username)
        db.session.commit()
        return version_view(version)


@blp.route("/processes/<key>/versions/<int:number>/migrate")
class MigrateAll(MethodView):
    @require(OWNER)
    @blp.arguments(BulkMigrateSchema)
    @blp.response(200, BulkReportSchema)
    def post(self, body: dict[str, Any], key: str, number: int) -> dict[str, Any]:
        """Move the running cases of the key (in your jurisdiction) to this version, each only if safe.

        With `dry_run` nothing changes and the report says which cases could move and why others cannot.
        """
        session, actor = db.session(), staff()
        reports = lifecycle.migrate_cases(
            session, actor, key[:100], number, body["dry_run"], body.get("status"), figures_scope(session, actor),
            body["limit"], current_app.extensions["aduan.settings"], body["mapping"],
        )  # fmt: skip
        counts = {"migrated": 0, "migratable": 0, "refused": 0}
        for report in reports:
            counts[report.result] += 1
        return {"key": key, "to_version": number, "dry_run": body["dry_run"], "counts": counts,
                "cases": [asdict(r) for r in reports]}  # fmt: skip


@blp.route("/complaints/<tracking:tracking_id>/migrate")
class MigrateComplaint(MethodView):
    @require(OWNER)
    @blp.arguments(MigrateSchema)
    @blp.response(200, MigrationSchema)
    @blp.alt_response(404, description="No such complaint in your jurisdiction, or no such version")
    @blp.alt_response(409, description="Not safe: `errors.reasons` says why")
    def post(self, body: dict[str, Any], tracking_id: str) -> dict[str, Any]:
        """Move a running complaint to another version of its process, when nothing it has done changes."""
        session, actor = db.session(), staff()
        case = get_for_migration(session, actor, tracking_id)
        settings = current_app.extensions["aduan.settings"]
        try:
            report = lifecycle.migrate_case(
                session, actor, case, body["to_version"], body["dry_run"], settings, body["mapping"]
            )
        except migration.Refused as refused:
            raise Conflict(refused.message, refused.errors) from refused
        return asdict(report)
