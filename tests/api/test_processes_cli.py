"""`aduan processes deploy | list | activate | migrate`."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import API, Auth
from tests.data import DATA, shipped_bundle
from tests.engine.processes.test_validation import RESPOND


def aduan(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def write(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [str(tmp_path / name) for name in files]


def test_deploy_files_as_the_next_version_then_list(app: Flask, demo_directory: None, tmp_path: Path) -> None:
    files = {**shipped_bundle(), "deadlines.dmn": (DATA / "respond_3_days" / "deadlines.dmn").read_text()}
    result = aduan(app, "processes", "deploy", *write(tmp_path, files), "--by", "siti")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("complaint (process) version 2 deployed, active (")
    listed = aduan(app, "processes", "list")
    assert listed.output.splitlines() == [
        "complaint (process): active 2; versions 1, 2",
        "route_category (decision): active 1; versions 1",
    ]


def test_deploy_a_decision_alone_and_roll_it_back(app: Flask, demo_directory: None) -> None:
    result = aduan(app, "processes", "deploy", str(DATA / "routing_puskesmas" / "routing.dmn"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("route_category (decision) version 2 deployed, active")
    back = aduan(app, "processes", "activate", "route_category", "1")
    assert (back.exit_code, back.output) == (0, "route_category version 1 active\n")


def test_an_invalid_deploy_prints_each_finding_and_stores_nothing(
    app: Flask, demo_directory: None, tmp_path: Path
) -> None:
    files = shipped_bundle()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace('name="officer"', 'name="clerk"')
    del files["respond.schema.json"]
    result = aduan(app, "processes", "deploy", *write(tmp_path, files))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: invalid process: 2 findings",
        "  complaint.bpmn: line 59, element 'lane_officer': lane 'clerk' is not a role"
        " (officer, reporter, supervisor, verifier)",
        f"  complaint.bpmn: line {RESPOND}, element 'respond':"
        " form schema 'respond.schema.json' is not among the files",
    ]
    assert "complaint (process): active 1; versions 1" in aduan(app, "processes", "list").output


def test_migrate_reports_each_case_and_moves_it_unless_a_dry_run(
    app: Flask, demo_directory: None, tmp_path: Path
) -> None:
    answer = app.test_client().post(f"{API}/complaints", json={"title": "Sampah", "body": "Belum diangkut."})
    tracking_id = answer.json["tracking_id"]  # type: ignore[index]
    files = {**shipped_bundle(), "complaint.bpmn": (DATA / "thank_reporter" / "complaint.bpmn").read_text()}
    assert aduan(app, "processes", "deploy", *write(tmp_path, files)).exit_code == 0
    dry = aduan(app, "processes", "migrate", "complaint", "2", "--dry-run")
    assert dry.output.splitlines() == [f"{tracking_id} (submitted, version 1): migratable", "dry run: 1 migratable"]
    done = aduan(app, "processes", "migrate", "complaint", "2", "--status", "submitted", "--by", "siti")
    assert done.output.splitlines() == [f"{tracking_id} (submitted, version 1): migrated", "1 migrated"]
    assert aduan(app, "processes", "migrate", "complaint", "2").output == "no running cases to move\n"
    unknown = aduan(app, "processes", "migrate", "complaint", "9")
    assert (unknown.exit_code, unknown.output) == (1, "Error: no version 9 of 'complaint'\n")


def test_validate_prints_every_finding_and_exits_1(app: Flask, demo_directory: None, tmp_path: Path) -> None:
    files = shipped_bundle()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace('name="officer"', 'name="clerk"')
    del files["respond.schema.json"]
    result = aduan(app, "processes", "validate", *write(tmp_path, files))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "complaint.bpmn: line 59, element 'lane_officer': lane 'clerk' is not a role"
        " (officer, reporter, supervisor, verifier)",
        f"complaint.bpmn: line {RESPOND}, element 'respond': form schema 'respond.schema.json' is not among the files",
    ]
    assert "complaint (process): active 1; versions 1" in aduan(app, "processes", "list").output


def test_validate_a_sound_version_exits_0_and_stores_nothing(app: Flask, demo_directory: None, tmp_path: Path) -> None:
    files = {**shipped_bundle(), "deadlines.dmn": (DATA / "respond_3_days" / "deadlines.dmn").read_text()}
    result = aduan(app, "processes", "validate", *write(tmp_path, files))
    assert (result.exit_code, result.output) == (0, "valid: no findings\n")
    assert "complaint (process): active 1; versions 1" in aduan(app, "processes", "list").output


def test_deploy_no_activate_stores_an_inactive_version(app: Flask, demo_directory: None, tmp_path: Path) -> None:
    files = {**shipped_bundle(), "deadlines.dmn": (DATA / "respond_3_days" / "deadlines.dmn").read_text()}
    result = aduan(app, "processes", "deploy", "--no-activate", *write(tmp_path, files))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("complaint (process) version 2 deployed (")
    assert "complaint (process): active 1; versions 1, 2" in aduan(app, "processes", "list").output


def test_a_file_in_another_declared_encoding_is_read_as_declared(
    app: Flask, demo_directory: None, tmp_path: Path
) -> None:
    files = shipped_bundle()
    paths = write(tmp_path, files)
    text = files["complaint.bpmn"].replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    text = text.replace('name="Verify complaint"', 'name="Vérifier"')
    (tmp_path / "complaint.bpmn").write_bytes(text.encode("iso-8859-1", errors="xmlcharrefreplace"))
    result = aduan(app, "processes", "deploy", *paths)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("complaint (process) version 2 deployed")


def test_migrate_lists_moved_deadlines_and_exits_1_when_a_case_is_refused(
    app: Flask, client: FlaskClient, auth: Auth, tmp_path: Path
) -> None:
    tracking_id = client.post(f"{API}/complaints", json={"title": "Sampah", "body": "Belum diangkut."}).json[
        "tracking_id"
    ]  # type: ignore[index]
    task = client.get(f"{API}/tasks", headers=auth("verifier")).json[0]  # type: ignore[index]
    data = {"data": {"decision": "accept", "agency": "batam.dlh"}}
    assert client.post(f"{API}/tasks/{task['id']}/complete", json=data, headers=auth("verifier")).status_code == 200
    files = {**shipped_bundle(), "deadlines.dmn": (DATA / "respond_3_days" / "deadlines.dmn").read_text()}
    assert aduan(app, "processes", "deploy", "--no-activate", *write(tmp_path, files)).exit_code == 0
    dry = aduan(app, "processes", "migrate", "complaint", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0] == f"{tracking_id} (dispositioned, version 1): migratable"
    assert lines[1].startswith("  deadline of respond: ") and lines[-1] == "dry run: 1 migratable"
    changed = shipped_bundle()
    changed["complaint.bpmn"] = changed["complaint.bpmn"].replace(
        "proposed_agency = agency or proposed_agency", "proposed_agency = proposed_agency or agency"
    )
    assert aduan(app, "processes", "deploy", "--no-activate", *write(tmp_path, changed)).exit_code == 0
    refused = aduan(app, "processes", "migrate", "complaint", "3")
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1] == "1 refused"
    bad_map = aduan(app, "processes", "migrate", "complaint", "3", "--map", "respond")
    assert bad_map.exit_code == 2 and "OLD=NEW" in bad_map.output
