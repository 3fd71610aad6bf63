"""/processes and /complaints/{id}/migrate over HTTP: deploy, read, activate, migrate; who may do what."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from engine.directory import agencies as directory
from engine.directory import users
from tests.api.conftest import API, Auth
from tests.api.test_openapi_fuzz import fuzz, operations
from tests.conftest import DEMO_PASSWORD
from tests.data import bundle_with, fixture, shipped_bundle
from tests.engine.processes.test_validation import INVALID

Files = dict[str, str | bytes]


def upload(client: FlaskClient, auth: Auth, files: Files, user: str = "owner") -> TestResponse:
    parts = [(io.BytesIO(t.encode() if isinstance(t, str) else t), name) for name, t in files.items()]
    return client.post(
        f"{API}/processes", data={"files": parts}, headers=auth(user), content_type="multipart/form-data"
    )


def submit(client: FlaskClient, **fields: Any) -> str:
    body = {"title": "Sampah menumpuk", "body": "Sampah di Jl. Ahmad Yani belum diangkut.", **fields}
    answer = client.post(f"{API}/complaints", json=body)
    assert answer.status_code == 201, answer.json
    return str(answer.json["tracking_id"])  # type: ignore[index]


def get(client: FlaskClient, auth: Auth, path: str, user: str = "owner") -> Any:
    answer = client.get(f"{API}{path}", headers=auth(user))
    assert answer.status_code == 200, answer.json
    return answer.json


def listing(client: FlaskClient, auth: Auth) -> dict[str, Any]:
    return {p["key"]: p for p in get(client, auth, "/processes")}


# Deploying and reading ------------------------------------------------------------------------------------


def test_a_process_owner_deploys_the_next_version_and_reads_it_back(client: FlaskClient, auth: Auth) -> None:
    answer = upload(client, auth, bundle_with("respond_3_days"))
    assert answer.status_code == 201, answer.json
    assert answer.json is not None
    assert (answer.json["key"], answer.json["kind"], answer.json["version"], answer.json["created"]) == (
        "complaint", "process", 2, True,
    )  # fmt: skip
    assert answer.headers["Location"] == "/api/v1/processes/complaint/versions/2"
    assert listing(client, auth) == {
        "complaint": {"key": "complaint", "kind": "process", "version": 2, "versions": [1, 2]},
        "route_category": {"key": "route_category", "kind": "decision", "version": 1, "versions": [1]},
    }
    versions = get(client, auth, "/processes/complaint/versions")
    assert [(v["version"], v["active"], v["deployed_by"]) for v in versions] == [
        (1, False, "system"),
        (2, True, "owner"),
    ]
    assert versions[1]["changes"]["elements"]["changed"] == {
        "reclassify": ["decision_table"],
        "set_deadlines": ["decision_table"],
    }
    detail = get(client, auth, "/processes/complaint/versions/2", user="auditor")
    assert set(detail["source"]) == set(shipped_bundle())
    assert "<bpmndi:BPMNDiagram" in detail["source"]["complaint.bpmn"]  # the layout, for viewers
    assert detail["decisions"] == {"deadlines": "bundled", "route_category": "shared"}
    raw = client.get(f"{API}/processes/complaint/versions/2/files/complaint.bpmn", headers=auth("owner"))
    assert (raw.status_code, raw.mimetype) == (200, "application/xml")
    assert raw.get_data(as_text=True) == detail["source"]["complaint.bpmn"]


def test_the_same_files_again_answer_the_existing_version(client: FlaskClient, auth: Auth) -> None:
    answer = upload(client, auth, shipped_bundle())
    assert answer.status_code == 200, answer.json
    assert answer.json is not None and (answer.json["version"], answer.json["created"]) == (1, False)


@pytest.mark.parametrize(
    "name",
    ["broken-xml", "unknown-lane", "missing-form", "unquoted-duration", "missing-called-process", "entity-expansion"],
)
def test_an_invalid_upload_is_422_with_the_finding_and_changes_nothing(
    client: FlaskClient, auth: Auth, name: str
) -> None:
    transform, file, message = INVALID[name]
    answer = upload(client, auth, dict(transform(shipped_bundle())))
    assert answer.status_code == 422, answer.json
    assert answer.json is not None
    assert answer.json["message"] == "invalid process: 1 finding"
    assert list(answer.json["errors"]) == [file]
    assert answer.json["errors"][file][0].startswith(message)
    assert listing(client, auth)["complaint"]["versions"] == [1]


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        ({"complaint.bpmn": b"<x>\xff</x>"}, {"complaint.bpmn": ["not UTF-8 text (byte 3)"]}),
        ({"notes.txt": "hello"}, {"notes.txt": ["unsupported file: expected .bpmn, .dmn or .json"]}),
        ({"a.dmn": "<a/>", "b.dmn": "<b/>"}, {"files": ["a .dmn uploaded without a diagram is one file"]}),
    ],
    ids=["not-utf8", "unsupported", "two-decisions"],
)
def test_bad_uploads_are_422(client: FlaskClient, auth: Auth, files: Files, errors: dict[str, list[str]]) -> None:
    answer = upload(client, auth, files)
    assert answer.status_code == 422, answer.json
    assert answer.json is not None and answer.json["errors"] == errors


def test_an_upload_without_files_is_422(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(f"{API}/processes", data={}, headers=auth("owner"), content_type="multipart/form-data")
    assert answer.status_code == 422
    assert answer.json is not None and "files" in answer.json["errors"]


def test_a_routing_change_is_deployed_on_its_own(client: FlaskClient, auth: Auth) -> None:
    answer = upload(client, auth, fixture("routing_puskesmas"))
    assert answer.status_code == 201, answer.json
    assert answer.json is not None
    assert (answer.json["key"], answer.json["kind"], answer.json["version"]) == ("route_category", "decision", 2)
    assert listing(client, auth)["complaint"]["versions"] == [1]  # no new lifecycle version
    rules = get(client, auth, "/processes/route_category/versions/2")["changes"]["rules"]
    assert rules == {"added": [], "removed": [], "changed": ["route_kesehatan"]}


def test_activating_an_earlier_version_rolls_back(client: FlaskClient, auth: Auth) -> None:
    assert upload(client, auth, bundle_with("respond_3_days")).status_code == 201
    answer = client.post(f"{API}/processes/complaint/versions/1/activate", headers=auth("owner"))
    assert answer.status_code == 200, answer.json
    assert answer.json is not None and (answer.json["active"], answer.json["activated_by"]) == (True, "owner")
    assert listing(client, auth)["complaint"]["version"] == 1
    tracking_id = submit(client)
    assert get(client, auth, f"/complaints/{tracking_id}", user="verifier")["process_version"] == 1


def test_unknown_keys_versions_and_files_are_404(client: FlaskClient, auth: Auth) -> None:
    for path in (
        "/processes/nothing/versions",
        "/processes/complaint/versions/9",
        "/processes/complaint/versions/1/files/x.bpmn",
    ):
        assert client.get(f"{API}{path}", headers=auth("owner")).status_code == 404


# Who may ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "user", "status"),
    [
        ("post", "/processes", None, 401),
        ("post", "/processes", "verifier", 403),
        ("post", "/processes", "auditor", 403),
        ("post", "/processes", "admin", 403),
        ("get", "/processes", None, 401),
        ("get", "/processes", "dlh", 403),
        ("get", "/processes/complaint/versions/1", "verifier", 403),
        ("get", "/processes/complaint/versions/1", "auditor", 200),
        ("post", "/processes/complaint/versions/1/activate", "auditor", 403),
        ("post", "/processes/complaint/versions/1/migrate", "verifier", 403),
    ],
)
def test_only_process_owners_change_processes_and_auditors_read_them(
    client: FlaskClient, auth: Auth, method: str, path: str, user: str | None, status: int
) -> None:
    headers = auth(user) if user else {}
    if method == "post":
        answer = client.post(f"{API}{path}", data={}, headers=headers, content_type="multipart/form-data")
    else:
        answer = client.get(f"{API}{path}", headers=headers)
    assert answer.status_code == status, answer.json


# Migrating running complaints ------------------------------------------------------------------------------


def migrate(client: FlaskClient, auth: Auth, tracking_id: str, user: str = "owner", **body: Any) -> TestResponse:
    return client.post(f"{API}/complaints/{tracking_id}/migrate", json=body, headers=auth(user))


def test_a_safe_complaint_migrates_and_an_unsafe_one_is_409_with_reasons(client: FlaskClient, auth: Auth) -> None:
    old = submit(client)
    assert upload(client, auth, bundle_with("thank_reporter")).status_code == 201  # version 2
    dry = migrate(client, auth, old, to_version=2, dry_run=True)
    assert dry.status_code == 200 and dry.json is not None and dry.json["result"] == "migratable"
    assert get(client, auth, f"/complaints/{old}", user="verifier")["process_version"] == 1
    answer = migrate(client, auth, old, to_version=2)
    assert answer.status_code == 200, answer.json
    assert answer.json is not None
    assert (answer.json["result"], answer.json["from_version"], answer.json["to_version"]) == ("migrated", 1, 2)
    assert answer.json["diff"]["added"] == ["thank_reporter"]
    assert get(client, auth, f"/complaints/{old}", user="verifier")["process_version"] == 2
    history = get(client, auth, f"/complaints/{old}/history", user="auditor")
    assert (history[-1]["type"], history[-1]["data"]["from_version"]) == ("migrated", 1)

    files = bundle_with("thank_reporter")
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        "proposed_agency = agency or proposed_agency", "proposed_agency = proposed_agency or agency"
    )
    assert upload(client, auth, files).status_code == 201  # version 3: a step the case has done changes
    refused = migrate(client, auth, old, to_version=3)
    assert refused.status_code == 409, refused.json
    assert refused.json is not None
    assert refused.json["errors"]["reasons"] == [
        "'register' (Register complaint) has already run, and version 3 changes it (script)"
    ]
    assert get(client, auth, f"/complaints/{old}", user="verifier")["process_version"] == 2


def test_a_deadline_change_reaches_running_cases_over_http_with_a_dry_run_per_case(
    client: FlaskClient, auth: Auth
) -> None:
    cases = [submit(client), submit(client)]
    inbox = client.get(f"{API}/tasks", headers=auth("verifier")).json
    for task in inbox:  # type: ignore[union-attr]
        body = {"data": {"decision": "accept", "agency": "batam.dlh"}}
        assert client.post(f"{API}/tasks/{task['id']}/complete", json=body, headers=auth("verifier")).status_code == 200
    respond = {t["complaint"]["tracking_id"]: t for t in client.get(f"{API}/tasks", headers=auth("dlh")).json}  # type: ignore[union-attr]
    assert upload(client, auth, bundle_with("respond_3_days")).status_code == 201
    url = f"{API}/processes/complaint/versions/2/migrate"
    dry = client.post(url, json={"dry_run": True}, headers=auth("owner"))
    assert dry.status_code == 200 and dry.json is not None
    assert {c["tracking_id"]: c["result"] for c in dry.json["cases"]} == {t: "migratable" for t in cases}
    for case in dry.json["cases"]:
        (moved,) = case["deadlines"]
        assert (moved["task"], moved["name"]) == (respond[case["tracking_id"]]["id"], "respond")
        assert moved["to"] < moved["from"]  # earlier: 3 working days instead of 5
        assert case["decisions"]["set_deadlines"] == {"followup_days": [5, 3]}
    done = client.post(url, json={"dry_run": False}, headers=auth("owner"))
    assert done.json is not None and done.json["counts"]["migrated"] == 2
    after = {t["complaint"]["tracking_id"]: t["due_at"] for t in client.get(f"{API}/tasks", headers=auth("dlh")).json}  # type: ignore[union-attr]
    for case in dry.json["cases"]:
        assert after[case["tracking_id"]] < respond[case["tracking_id"]]["due_at"]  # two working days earlier


def test_migrating_is_scoped_to_the_owners_jurisdiction_and_validated(
    client: FlaskClient, auth: Auth, session: Session
) -> None:
    directory.create_agency(session, "bintan", "Pemerintah Kabupaten Bintan", None, False)
    users.create_user(session, "owner.bintan", "process_owner", DEMO_PASSWORD, "bintan")
    session.commit()
    tracking_id = submit(client)
    assert migrate(client, auth, tracking_id, "owner.bintan", to_version=1).status_code == 404
    assert migrate(client, auth, tracking_id, "verifier", to_version=1).status_code == 403
    assert migrate(client, auth, tracking_id, to_version=9).status_code == 404
    assert migrate(client, auth, tracking_id, to_version=1).status_code == 409
    assert migrate(client, auth, tracking_id, to_version=1, force=True).status_code == 422


def test_bulk_migration_reports_every_case_and_moves_only_when_asked(client: FlaskClient, auth: Auth) -> None:
    first, second = submit(client), submit(client)
    assert upload(client, auth, bundle_with("thank_reporter")).status_code == 201
    url = f"{API}/processes/complaint/versions/2/migrate"
    dry = client.post(url, json={"dry_run": True}, headers=auth("owner"))
    assert dry.status_code == 200, dry.json
    assert dry.json is not None
    assert dry.json["counts"] == {"migrated": 0, "migratable": 2, "refused": 0}
    assert sorted(c["tracking_id"] for c in dry.json["cases"]) == sorted([first, second])
    done = client.post(url, json={"dry_run": False, "status": ["submitted"], "limit": 1}, headers=auth("owner"))
    assert done.status_code == 200, done.json
    assert done.json is not None and done.json["counts"] == {"migrated": 1, "migratable": 0, "refused": 0}
    views = [get(client, auth, f"/complaints/{t}", user="verifier") for t in (first, second)]
    versions = sorted(view["process_version"] for view in views)
    assert versions == [1, 2]
    assert client.post(url, json={"status": ["submitted"]}, headers=auth("owner")).status_code == 422


def test_every_process_operation_answers_as_documented_to_a_process_owner(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    ops = [op for op in operations(app) if "/processes" in op.path or op.path.endswith("/migrate")]
    assert len(ops) == 9
    for operation in ops:
        fuzz(operation, auth("owner"))


# Validating without deploying; deploying without activating -------------------------------------------


def validate(client: FlaskClient, auth: Auth, files: Files, user: str = "owner") -> TestResponse:
    parts = [(io.BytesIO(t.encode() if isinstance(t, str) else t), name) for name, t in files.items()]
    return client.post(
        f"{API}/processes/validate", data={"files": parts}, headers=auth(user), content_type="multipart/form-data"
    )


def test_validate_answers_every_finding_and_stores_nothing(client: FlaskClient, auth: Auth) -> None:
    files = shipped_bundle()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace('name="officer"', 'name="clerk"')
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        '<spiffworkflow:property name="dueAt" value="respond_due" />', ""
    )
    answer = validate(client, auth, files)
    assert answer.status_code == 200, answer.json
    assert answer.json is not None and answer.json["valid"] is False
    assert {(f["file"], f["element"]) for f in answer.json["findings"]} == {
        ("complaint.bpmn", "lane_officer"),
        ("complaint.bpmn", "respond"),
    }
    assert all(set(f) == {"file", "element", "line", "message"} for f in answer.json["findings"])
    assert all(isinstance(f["line"], int) for f in answer.json["findings"])
    assert listing(client, auth)["complaint"]["versions"] == [1]


def test_validate_says_valid_for_a_sound_version_without_storing_it(client: FlaskClient, auth: Auth) -> None:
    answer = validate(client, auth, bundle_with("respond_3_days"))
    assert (answer.status_code, answer.json) == (200, {"valid": True, "findings": []})
    assert listing(client, auth)["complaint"]["versions"] == [1]
    not_text = validate(client, auth, {"complaint.bpmn": b"<x>\xff</x>"})
    assert not_text.json == {
        "valid": False,
        "findings": [{"file": "complaint.bpmn", "element": None, "line": None, "message": "not UTF-8 text (byte 3)"}],
    }
    assert validate(client, auth, shipped_bundle(), user="auditor").status_code == 403


def test_a_version_deployed_with_activate_false_waits_for_activation(client: FlaskClient, auth: Auth) -> None:
    parts = [(io.BytesIO(t.encode()), name) for name, t in bundle_with("respond_3_days").items()]
    answer = client.post(
        f"{API}/processes", data={"files": parts, "activate": "false"}, headers=auth("owner"),
        content_type="multipart/form-data",
    )  # fmt: skip
    assert answer.status_code == 201, answer.json
    assert answer.json is not None and (answer.json["version"], answer.json["active"]) == (2, False)
    assert listing(client, auth)["complaint"] == {
        "key": "complaint",
        "kind": "process",
        "version": 1,
        "versions": [1, 2],
    }
    assert get(client, auth, f"/complaints/{submit(client)}", user="verifier")["process_version"] == 1
    activated = client.post(f"{API}/processes/complaint/versions/2/activate", headers=auth("owner"))
    assert activated.status_code == 200 and listing(client, auth)["complaint"]["version"] == 2
    again = upload(client, auth, bundle_with("respond_3_days"))  # identical files: that version, nothing stored
    assert again.status_code == 200 and again.json is not None and (again.json["version"], again.json["created"]) == (
        2, False,
    )  # fmt: skip
    assert listing(client, auth)["complaint"]["versions"] == [1, 2]
    parts = [(io.BytesIO(t.encode()), name) for name, t in bundle_with("respond_3_days").items()]
    bad = client.post(
        f"{API}/processes", data={"files": parts, "activate": "maybe"}, headers=auth("owner"),
        content_type="multipart/form-data",
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json is not None and "activate" in str(bad.json["errors"])


def test_xml_in_another_encoding_is_read_as_declared(client: FlaskClient, auth: Auth) -> None:
    files: Files = dict(shipped_bundle())
    text = str(files["complaint.bpmn"]).replace('<?xml version="1.0" encoding="UTF-8"?>', "", 1)
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>' + text.replace(
        'name="Verify complaint"', 'name="Vérifier la plainte"'
    )
    files["complaint.bpmn"] = text.encode("iso-8859-1", errors="xmlcharrefreplace")
    answer = upload(client, auth, files)
    assert answer.status_code == 201, answer.json
    source = get(client, auth, "/processes/complaint/versions/2")["source"]["complaint.bpmn"]
    assert 'name="Vérifier la plainte"' in source


def test_a_migration_mapping_names_element_ids(client: FlaskClient, auth: Auth) -> None:
    case = submit(client)
    assert upload(client, auth, bundle_with("thank_reporter")).status_code == 201
    bad = migrate(client, auth, case, to_version=2, mapping={"verify": "not an id!"})
    assert bad.status_code == 422 and bad.json is not None and "mapping" in str(bad.json["errors"])
    unknown = migrate(client, auth, case, to_version=2, mapping={"no_such_task": "verify"})
    assert unknown.status_code == 409 and unknown.json is not None
    assert unknown.json["errors"]["reasons"] == [
        "the mapping names 'no_such_task', which the case's version does not have"
    ]
    assert migrate(client, auth, case, to_version=2, mapping={"verify": "verify"}).status_code == 200
