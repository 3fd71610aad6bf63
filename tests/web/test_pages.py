"""The pages without a browser: session login, CSRF, the engine's scoping, languages, deploy findings."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.audit import chain as audit
from engine.cases import lifecycle, tasks
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.directory.users import User
from engine.processes.registry import ProcessVersion, get_version
from tests.conftest import DEMO_PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(app: Flask, demo_directory: None) -> FlaskClient:
    return app.test_client()


def csrf(client: FlaskClient, path: str = "/masuk") -> str:
    match = TOKEN.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match[1]


def sign_in(client: FlaskClient, username: str) -> None:
    answer = client.post(
        "/masuk", data={"csrf_token": csrf(client), "username": username, "password": DEMO_PASSWORD}
    )  # fmt: skip
    assert answer.status_code == 302, answer.text


def file_case(session: Session, **fields: Any) -> Case:
    fields.setdefault("category", "kebersihan")
    submission = lifecycle.Submission(title="Sampah menumpuk", body="Sampah belum diangkut lima hari.", **fields)
    return lifecycle.start_case(session, submission).case


def open_task(session: Session, case: Case) -> tasks.TaskRecord:
    return tasks.open_tasks(session, case.id)[0]


def accept(session: Session, case: Case, **extra: Any) -> None:
    verifier = Actor("verifier", "verifier", "batam.diskominfo")
    data = {"decision": "accept", "agency": "batam.dlh", **extra}
    lifecycle.complete_task(session, verifier, open_task(session, case).id, data)


# Forms and sessions -------------------------------------------------------------------------------------


def test_a_form_posted_without_its_csrf_token_is_refused(client: FlaskClient) -> None:
    body = {"title": "Sampah menumpuk", "body": "Sampah belum diangkut lima hari.", "kind": "complaint"}
    refused = client.post("/lapor", data=body)
    assert refused.status_code == 400
    assert "kedaluwarsa" in refused.text
    filed = client.post("/lapor", data={**body, "csrf_token": csrf(client, "/lapor")})
    assert filed.status_code == 302 and filed.location.startswith("/aduan/ADU-")


def test_the_json_api_needs_no_csrf_token(client: FlaskClient) -> None:
    answer = client.post("/api/v1/complaints", json={"title": "Parkir liar", "body": "Parkir liar di depan pasar."})
    assert answer.status_code == 201


def test_the_session_cookie_does_not_authenticate_the_json_api(client: FlaskClient) -> None:
    sign_in(client, "verifier")
    assert client.get("/kotak-masuk").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 401


def test_staff_pages_send_a_stranger_to_the_login_page_and_back(client: FlaskClient) -> None:
    answer = client.get("/kotak-masuk")
    assert answer.status_code == 302 and answer.location == "/masuk?next=/kotak-masuk"
    token = csrf(client)
    data = {"csrf_token": token, "username": "verifier", "password": DEMO_PASSWORD, "next": "/statistik"}
    assert client.post("/masuk", data=data).location == "/statistik"


def test_login_ignores_a_next_address_on_another_site(client: FlaskClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        data = {"csrf_token": csrf(client), "username": "dlh", "password": DEMO_PASSWORD, "next": target}
        assert client.post("/masuk", data=data).location == "/kotak-masuk"
        client.post("/keluar", data={"csrf_token": csrf(client, "/kotak-masuk")})


def test_a_wrong_password_is_refused(client: FlaskClient) -> None:
    data = {"csrf_token": csrf(client), "username": "verifier", "password": "salah-sekali"}
    answer = client.post("/masuk", data=data)
    assert answer.status_code == 401
    assert "salah" in answer.text


def test_a_deactivated_account_loses_its_session_at_once(client: FlaskClient, session: Session) -> None:
    sign_in(client, "dlh")
    assert client.get("/kotak-masuk").status_code == 200
    session.get_one(User, "dlh").active = False
    session.commit()
    assert client.get("/kotak-masuk").status_code == 302


def test_signing_out_ends_the_session(client: FlaskClient) -> None:
    sign_in(client, "verifier")
    client.post("/keluar", data={"csrf_token": csrf(client, "/kotak-masuk")})
    assert client.get("/kotak-masuk").status_code == 302


def test_a_role_without_tasks_gets_403_on_the_inbox(client: FlaskClient) -> None:
    sign_in(client, "auditor")
    assert client.get("/kotak-masuk").status_code == 403


# The engine's scoping -----------------------------------------------------------------------------------


def test_another_agencys_task_and_case_are_the_same_404_as_in_the_api(client: FlaskClient, session: Session) -> None:
    case = file_case(session, confidential=True)
    accept(session, case)
    task = open_task(session, case)
    sign_in(client, "dishub")
    for path in (f"/tugas/{task.id}", f"/aduan/{case.tracking_id}", f"/audit/{case.tracking_id}"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert case.title not in answer.text
    assert client.get("/aduan/ADU-0000-0000").status_code == 404


def test_the_public_sees_a_verified_complaint_without_the_reporter(client: FlaskClient, session: Session) -> None:
    case = file_case(session, reporter={"name": "Siti Rahma"})
    assert client.get(f"/aduan/{case.tracking_id}").status_code == 404  # not verified yet
    accept(session, case)
    page = client.get(f"/aduan/{case.tracking_id}")
    assert page.status_code == 200 and "Siti Rahma" not in page.text
    assert case.title in client.get("/publik").text


def test_the_reporter_token_kept_by_the_tracking_form_opens_the_reporters_view(
    client: FlaskClient, session: Session
) -> None:
    submission = lifecycle.Submission(title="Parkir liar", body="Parkir liar di depan pasar.", reporter={"name": "Ani"})
    outcome = lifecycle.start_case(session, submission)
    tracking_id = outcome.case.tracking_id
    data = {"csrf_token": csrf(client, "/lacak"), "tracking_id": tracking_id.lower(), "token": outcome.reporter_token}
    assert client.post("/lacak", data=data).location == f"/aduan/{tracking_id}"
    assert "Ani" in client.get(f"/aduan/{tracking_id}").text


def test_an_auditors_reads_of_the_pages_are_logged(client: FlaskClient, session: Session) -> None:
    case = file_case(session)
    sign_in(client, "auditor")
    assert client.get(f"/aduan/{case.tracking_id}").status_code == 200
    assert client.get(f"/audit/{case.tracking_id}").status_code == 200
    assert [r.actor for r in audit.reads(session, case)] == ["auditor", "auditor"]


def test_completing_a_task_with_invalid_data_shows_the_errors_by_field(client: FlaskClient, session: Session) -> None:
    case = file_case(session)
    task = open_task(session, case)
    sign_in(client, "verifier")
    token = csrf(client, f"/tugas/{task.id}")
    answer = client.post(f"/tugas/{task.id}", data={"csrf_token": token, "decision": "reject"})
    assert answer.status_code == 422
    assert 'id="reason-error"' in answer.text
    done = client.post(f"/tugas/{task.id}", data={"csrf_token": token, "decision": "reject", "reason": "Bukan aduan"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get_one(Case, case.id).status == "archived"


def test_an_unticked_privacy_box_keeps_the_reporters_choice(client: FlaskClient, session: Session) -> None:
    case = file_case(session, anonymous=True)
    task = open_task(session, case)
    sign_in(client, "verifier")
    page = client.get(f"/tugas/{task.id}").text
    assert re.search(r'name="anonymous"[^>]*checked', page)


# Languages ----------------------------------------------------------------------------------------------


def test_pages_are_indonesian_first_and_english_on_request(client: FlaskClient) -> None:
    page = client.get("/lapor")
    assert '<html lang="id">' in page.text and "Sampaikan laporan" in page.text
    english = client.get("/lapor?lang=en")
    assert '<html lang="en">' in english.text and "File a complaint" in english.text
    assert "lang=en" in english.headers["Set-Cookie"]
    assert "File a complaint" in client.get("/lapor").text  # remembered


# Process owners -----------------------------------------------------------------------------------------


def deploy(client: FlaskClient, xml: str) -> Any:
    token = csrf(client, "/proses/complaint/1/ubah")
    body = {"file": "complaint.bpmn", "xml": xml}
    return client.post("/proses/complaint/1/terapkan", json=body, headers={"X-CSRFToken": token})


def test_deploying_from_the_editor_answers_the_findings_by_element(client: FlaskClient, session: Session) -> None:
    source = get_version(session, "complaint", 1).source["complaint.bpmn"]
    sign_in(client, "owner")
    answer = deploy(client, source.replace("respond.schema.json", "missing.schema.json", 1))
    assert answer.status_code == 422
    (finding,) = answer.json["findings"]
    assert finding["element"] == "respond" and finding["file"] == "complaint.bpmn" and finding["line"]
    assert "missing.schema.json" in finding["message"]


def test_deploying_from_the_editor_makes_the_next_version_with_the_other_files(
    client: FlaskClient, session: Session
) -> None:
    source = get_version(session, "complaint", 1).source
    sign_in(client, "owner")
    answer = deploy(client, source["complaint.bpmn"].replace('name="Verify complaint"', 'name="Verifikasi"', 1))
    assert answer.status_code == 201, answer.json
    assert answer.json["version"] == 2
    version = get_version(session, "complaint", 2)
    assert set(version.source) == set(source) and not version.active  # activated only once confirmed
    page = client.get(answer.json["url"]).get_data(as_text=True)
    assert 'id="against-active"' in page and "verify" in page


def test_a_changed_decision_table_is_checked_then_deployed_and_activated_only_when_confirmed(
    client: FlaskClient, session: Session
) -> None:
    source = get_version(session, "complaint", 1).source
    sign_in(client, "owner")
    assert 'data-kind="dmn"' in client.get("/proses/complaint/1/ubah?file=deadlines.dmn").get_data(as_text=True)
    token = csrf(client, "/proses")
    cell = '<outputEntry id="deadlines_complaint_followup"><text>5</text></outputEntry>'
    edited = source["deadlines.dmn"].replace(cell, cell.replace(">5<", ">3<"))
    bad = edited.replace("<text>3</text></outputEntry>", "<text>3 +</text></outputEntry>", 1)
    body = {"file": "deadlines.dmn", "xml": bad}
    checked = client.post("/proses/complaint/1/periksa", json=body, headers={"X-CSRFToken": token}).json
    assert checked["valid"] is False and checked["findings"][0]["element"] == "deadlines_aspiration_verify"
    body = {"file": "deadlines.dmn", "xml": edited}
    checked = client.post("/proses/complaint/1/periksa", json=body, headers={"X-CSRFToken": token}).json
    assert checked == {"valid": True, "findings": []}
    assert [v.version for v in session.scalars(sa.select(ProcessVersion).where(ProcessVersion.key == "complaint"))] == [
        1
    ]
    answer = client.post("/proses/complaint/1/terapkan", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 201, answer.json
    page = client.get(answer.json["url"]).get_data(as_text=True)
    assert re.search(r'data-rule="deadlines_complaint".*?First follow-up.*?<code>5</code>.*?<code>3</code>', page, re.S)
    token = csrf(client, answer.json["url"])
    client.post("/proses/complaint/2/aktifkan", data={"csrf_token": token})
    session.expire_all()
    assert not get_version(session, "complaint", 2).active  # not confirmed
    client.post("/proses/complaint/2/aktifkan", data={"csrf_token": token, "confirm": "yes"})
    session.expire_all()
    assert get_version(session, "complaint", 2).active


def test_only_process_owners_deploy_and_the_editor_needs_the_csrf_header(client: FlaskClient, session: Session) -> None:
    source = get_version(session, "complaint", 1).source["complaint.bpmn"]
    sign_in(client, "owner")
    body = {"file": "complaint.bpmn", "xml": source}
    assert client.post("/proses/complaint/1/terapkan", json=body).status_code == 400
    client.post("/keluar", data={"csrf_token": csrf(client, "/proses")})
    sign_in(client, "auditor")
    assert client.get("/proses/complaint/1").status_code == 200
    assert client.get("/proses/complaint/1/ubah").status_code == 403
    token = csrf(client, "/proses")
    answer = client.post("/proses/complaint/1/terapkan", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_unknown_vendor_files_are_not_served(client: FlaskClient) -> None:
    assert client.get("/vendor/../package.json").status_code == 404
    assert client.get("/vendor/bpmn-js/package.json").status_code == 404


def test_the_verify_page_shows_and_prefills_the_agency_the_routing_table_proposes(
    client: FlaskClient, session: Session
) -> None:
    case = file_case(session, category="kebersihan")
    task = open_task(session, case)
    sign_in(client, "verifier")
    page = client.get(f"/tugas/{task.id}").get_data(as_text=True)
    assert "Usulan tabel rute: Dinas Lingkungan Hidup" in page
    assert re.search(r'<option value="batam\.dlh"\s+selected', page), "the agency field is pre-filled"
