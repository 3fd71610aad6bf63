"""Process owners' pages: processes and versions, the diagram in the modeler (bpmn-js with its properties
panel) and decision tables in the DMN editor (dmn-js), validate and deploy with findings, the diff.

The editors send the edited file; the version's other files (decision tables, forms, other diagrams) come
from the version it was opened from, so the upload is a whole version as `POST /api/v1/processes` expects,
and goes through the same `engine.processes.registry.validate_files` / `deploy_files`. A version deployed from
an editor is not active yet: its page shows what activating it changes against the active version (elements,
and the rules and cells of each decision table) and asks for a confirmation before it activates.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from api.extensions import db
from api.web.audit import main_diagram
from api.web.blueprint import bp
from api.web.common import PAGE_STATUS
from api.web.login import staff, staff_required
from engine.errors import EngineError, InvalidProcess
from engine.processes import registry as processes
from engine.processes import validation
from engine.processes.validation import MAX_FILE_CHARS

OWNER = "process_owner"
READERS = ("process_owner", "auditor")


def findings_of(error: InvalidProcess) -> list[dict[str, Any]]:
    """The validation findings as {file, element, line, message}, so the editor can mark each element."""
    return [asdict(finding) for finding in validation.findings_of(error)]


@bp.get("/proses")
@staff_required(*READERS)
def process_list() -> ResponseReturnValue:
    """Every process and shared decision with its active version and all its versions."""
    keys = [asdict(k) for k in processes.keys(db.session())]
    return render_template("web/processes.html", keys=keys)


@bp.get("/proses/<key>")
@staff_required(*READERS)
def process_versions(key: str) -> ResponseReturnValue:
    versions = processes.versions(db.session(), key[:100])
    if not versions:
        abort(404)
    return render_template("web/versions.html", key=key, versions=versions)


@bp.get("/proses/<key>/<int:number>")
@staff_required(*READERS)
def version_page(key: str, number: int) -> ResponseReturnValue:
    """One version: who deployed it, what changed against the previous one (marked on the diagram), its files."""
    version = processes.get_version(db.session(), key[:100], number)
    diagram = main_diagram(version) if version.kind == processes.Kind.PROCESS else None
    changes = version.changes or {}
    pending = processes.against_active(db.session(), version)
    elements = (pending or changes).get("elements", {})
    viewer = {
        "xml": diagram[1] if diagram else None,
        "added": elements.get("added", []),
        "changed": sorted(elements.get("changed", {})),
    }
    return render_template(
        "web/version.html", version=version, diagram=diagram, changes=changes, viewer=viewer, pending=pending
    )


@bp.get("/proses/<key>/<int:number>/berkas/<filename>")
@staff_required(*READERS)
def version_file(key: str, number: int, filename: str) -> ResponseReturnValue:
    version = processes.get_version(db.session(), key[:100], number)
    if filename not in version.source:
        abort(404)
    return render_template("web/file.html", version=version, filename=filename, text=version.source[filename])


@bp.post("/proses/<key>/<int:number>/aktifkan")
@staff_required(OWNER)
def activate(key: str, number: int) -> ResponseReturnValue:
    """Make this version the active one (upgrade, or roll back), once the owner confirmed the changes."""
    if request.form.get("confirm") != "yes":
        flash(_("Confirm that you have read the changes before activating."), "error")
        return redirect(url_for("web.version_page", key=key, number=number))
    try:
        processes.activate(db.session(), key[:100], number, staff().username)
        db.session.commit()
        flash(_("Version %(n)s is now active: new complaints start on it.", n=number), "success")
    except InvalidProcess as error:
        db.session.rollback()
        flash(_("This version cannot be activated: %(reason)s", reason=error.message), "error")
    return redirect(url_for("web.version_page", key=key, number=number))


@bp.get("/proses/<key>/<int:number>/ubah")
@staff_required(OWNER)
def modeler(key: str, number: int) -> ResponseReturnValue:
    """A diagram of the version in the bpmn-js modeler (or a decision table in dmn-js), with buttons that
    validate the edit and deploy it as a new, not yet active, version."""
    version = processes.get_version(db.session(), key[:100], number)
    editable = sorted(name for name in version.source if name.endswith((".bpmn", ".dmn")))
    main = main_diagram(version)
    if version.kind == processes.Kind.PROCESS and main is None:
        abort(404)
    filename = request.args.get("file") or (main[0] if main else editable[0])
    if filename not in editable:
        abort(404)
    editor = {
        "xml": version.source[filename], "file": filename, "kind": "dmn" if filename.endswith(".dmn") else "bpmn",
        "deploy": url_for("web.deploy", key=version.key, number=version.version),
        "validate": url_for("web.validate", key=version.key, number=version.version),
    }  # fmt: skip
    return render_template("web/modeler.html", version=version, diagrams=editable, editor=editor)


def _edited_files(base: processes.ProcessVersion) -> dict[str, str] | None:
    """The base version's files with the edited one from the JSON body `{file, xml}`; None if there is none."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str) or body.get("file") not in base.source:
        return None
    return {**base.source, body["file"]: body["xml"][: MAX_FILE_CHARS + 1]}  # longer: a finding says so


@bp.post("/proses/<key>/<int:number>/periksa")
@staff_required(OWNER)
def validate(key: str, number: int) -> ResponseReturnValue:
    """Check `{file, xml}` with the other files of version `number`, storing nothing (JSON answer)."""
    base = processes.get_version(db.session(), key[:100], number)
    files = _edited_files(base)
    if files is None:
        return jsonify({"message": _("Nothing to check."), "findings": []}), 400
    key_of = base.key if base.kind == processes.Kind.PROCESS else None
    findings = processes.validate_files(db.session(), files, key_of)
    db.session.rollback()
    return jsonify({"valid": not findings, "findings": [asdict(f) for f in findings]})


@bp.post("/proses/<key>/<int:number>/terapkan")
@staff_required(OWNER)
def deploy(key: str, number: int) -> ResponseReturnValue:
    """Deploy `{file, xml}` with the other files of version `number` as the key's next version (JSON answer)."""
    base = processes.get_version(db.session(), key[:100], number)
    files = _edited_files(base)
    if files is None:
        return jsonify({"message": _("Nothing to deploy."), "findings": []}), 400
    key_of = base.key if base.kind == processes.Kind.PROCESS else None
    try:
        deployment = processes.deploy_files(db.session(), files, staff().username, key_of, activate=False)
        db.session.commit()
    except InvalidProcess as error:
        db.session.rollback()
        return jsonify({"message": error.message, "findings": findings_of(error)}), 422
    except EngineError as error:  # e.g. a concurrent deploy of the same key: the editor shows the message
        db.session.rollback()
        return jsonify({"message": error.message, "findings": []}), PAGE_STATUS.get(type(error), 400)
    version = deployment.version
    url = url_for("web.version_page", key=version.key, number=version.version)
    if deployment.created:
        flash(
            _("Version %(n)s deployed, not active yet: read what changes, then activate it.", n=version.version),
            "success",
        )
    else:
        flash(_("Nothing changed: these files are version %(n)s.", n=version.version), "warning")
    return jsonify({"version": version.version, "created": deployment.created, "url": url}), 201
