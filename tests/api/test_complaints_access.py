"""Who sees which complaint and how much: object-level authorization and privacy, endpoint by endpoint."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import API, Auth

REPORTER = {"name": "Siti Aminah", "email": "siti@example.id", "phone": "+62 811 000 111"}


def submit(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    body = {"title": "Sampah di taman", "body": "Sampah tidak diangkut sejak minggu lalu.", "reporter": REPORTER}
    answer = client.post(f"{API}/complaints", json={**body, **fields})
    assert answer.status_code == 201, answer.json
    return answer.json  # type: ignore[no-any-return]


def dispose(client: FlaskClient, auth: Auth, tracking_id: str, agency: str = "batam.dlh", **extra: Any) -> None:
    inbox = client.get(f"{API}/tasks", headers=auth("verifier")).json
    task = next(t for t in inbox if t["complaint"]["tracking_id"] == tracking_id)
    data = {"decision": "accept", "agency": agency, **extra}
    answer = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": data}, headers=auth("verifier"))
    assert answer.status_code == 200, answer.json


def view(client: FlaskClient, tracking_id: str, headers: dict[str, str] | None = None) -> Any:
    return client.get(f"{API}/complaints/{tracking_id}", headers=headers or {})


def test_an_unverified_complaint_is_not_public(client: FlaskClient) -> None:
    created = submit(client)
    assert view(client, created["tracking_id"]).status_code == 404


def test_a_verified_complaint_is_public_without_the_reporter(client: FlaskClient, auth: Auth) -> None:
    created = submit(client)
    dispose(client, auth, created["tracking_id"])
    public = view(client, created["tracking_id"])
    assert public.status_code == 200
    assert "reporter" not in public.json and public.json["status"] == "dispositioned"


def test_a_confidential_complaint_never_appears_publicly(client: FlaskClient, auth: Auth) -> None:
    created = submit(client, confidential=True)
    dispose(client, auth, created["tracking_id"])
    assert view(client, created["tracking_id"]).status_code == 404
    assert view(client, created["tracking_id"], auth("dlh")).status_code == 200


def test_the_verifier_can_make_a_complaint_confidential(client: FlaskClient, auth: Auth) -> None:
    created = submit(client)
    dispose(client, auth, created["tracking_id"], confidential=True)
    assert view(client, created["tracking_id"]).status_code == 404


def test_the_reporter_token_shows_the_reporter_their_own_complaint(client: FlaskClient) -> None:
    created = submit(client, anonymous=True)
    mine = view(client, created["tracking_id"], {"X-Reporter-Token": created["reporter_token"]})
    assert mine.status_code == 200 and mine.json["reporter"] == REPORTER


def test_a_wrong_reporter_token_sees_nothing_private(client: FlaskClient, auth: Auth) -> None:
    created = submit(client)
    other = submit(client)
    assert view(client, created["tracking_id"], {"X-Reporter-Token": other["reporter_token"]}).status_code == 404
    dispose(client, auth, created["tracking_id"])
    answer = view(client, created["tracking_id"], {"X-Reporter-Token": "forged"})
    assert answer.status_code == 200 and "reporter" not in answer.json


def test_anonymous_hides_the_reporter_from_the_agency_but_not_the_verifier(client: FlaskClient, auth: Auth) -> None:
    created = submit(client, anonymous=True)
    dispose(client, auth, created["tracking_id"])
    assert "reporter" not in view(client, created["tracking_id"], auth("dlh")).json
    assert "reporter" not in view(client, created["tracking_id"], auth("dlh.head")).json
    assert view(client, created["tracking_id"], auth("verifier")).json["reporter"] == REPORTER
    assert view(client, created["tracking_id"], auth("auditor")).json["reporter"] == REPORTER


def test_a_named_complaint_shows_the_reporter_to_the_agency(client: FlaskClient, auth: Auth) -> None:
    created = submit(client)
    dispose(client, auth, created["tracking_id"])
    assert view(client, created["tracking_id"], auth("dlh")).json["reporter"] == REPORTER


def test_an_officer_of_another_agency_gets_404_and_never_sees_it_listed(client: FlaskClient, auth: Auth) -> None:
    created = submit(client, confidential=True)
    dispose(client, auth, created["tracking_id"])
    assert view(client, created["tracking_id"], auth("dishub")).status_code == 404
    listed = client.get(f"{API}/complaints", headers=auth("dishub")).json
    assert listed["total"] == 0
    assert client.get(f"{API}/complaints", headers=auth("dlh")).json["total"] == 1
    history = client.get(f"{API}/complaints/{created['tracking_id']}/history", headers=auth("dishub"))
    assert history.status_code == 404


def test_listing_needs_a_staff_token(client: FlaskClient, auth: Auth) -> None:
    assert client.get(f"{API}/complaints").status_code == 401
    bad = client.get(f"{API}/complaints", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and bad.json["message"] == "invalid token"


def test_listing_filters_and_paginates(client: FlaskClient, auth: Auth) -> None:
    for i in range(3):
        submit(client, title=f"Lampu jalan mati {i}", category="lainnya")
    submit(client, title="Parkir liar", category="parkir")
    page = client.get(f"{API}/complaints?category=lainnya&per_page=2&page=2", headers=auth("verifier")).json
    assert (page["total"], page["page"], len(page["items"])) == (3, 2, 1)
    found = client.get(f"{API}/complaints?q=parkir", headers=auth("verifier")).json
    assert [c["title"] for c in found["items"]] == ["Parkir liar"]


def test_an_auditor_read_is_logged(client: FlaskClient, auth: Auth, session: Any) -> None:
    from engine.audit import chain as audit
    from engine.cases.case import get_case

    created = submit(client)
    view(client, created["tracking_id"], auth("auditor"))
    reads = audit.reads(session, get_case(session, created["tracking_id"]))
    assert [(r.actor, r.actor_role) for r in reads] == [("auditor", "auditor")]


def test_only_the_reporter_may_reply(client: FlaskClient, auth: Auth) -> None:
    created = submit(client)
    dispose(client, auth, created["tracking_id"])
    path = f"{API}/complaints/{created['tracking_id']}/replies"
    assert client.post(path, json={"message": "hai"}).status_code == 403  # public view: not the reporter
    assert client.post(path, json={"message": "hai"}, headers=auth("dlh")).status_code == 403
    mine = {"X-Reporter-Token": created["reporter_token"]}
    assert client.post(path, json={"message": "hai"}, headers=mine).status_code == 409  # nothing waits yet


def test_the_reporter_sees_the_public_part_of_the_history(client: FlaskClient, auth: Auth) -> None:
    created = submit(client)
    dispose(client, auth, created["tracking_id"])
    path = f"{API}/complaints/{created['tracking_id']}/history"
    mine = client.get(path, headers={"X-Reporter-Token": created["reporter_token"]}).json
    assert [e["type"] for e in mine] == ["submitted", "task_completed"]
    assert mine[1]["actor"] == "verifier" and mine[1]["data"] == {"status": "dispositioned"}
    full = client.get(path, headers=auth("verifier")).json
    assert full[1]["data"]["input"]["agency"] == "batam.dlh"
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("user", ["dishub", "auditor", "owner", "admin"])
def test_only_task_roles_in_scope_work_the_inbox(client: FlaskClient, auth: Auth, user: str) -> None:
    created = submit(client)
    verify = client.get(f"{API}/tasks", headers=auth("verifier")).json[0]
    assert verify["complaint"]["tracking_id"] == created["tracking_id"]
    answer = client.post(f"{API}/tasks/{verify['id']}/complete", json={"data": {}}, headers=auth(user))
    assert answer.status_code in (403, 404)
    assert client.get(f"{API}/tasks/{verify['id']}", headers=auth(user)).status_code in (403, 404)
    assert client.post(f"{API}/tasks/{verify['id']}/claim", headers=auth(user)).status_code in (403, 404)


def test_tasks_need_a_token(client: FlaskClient) -> None:
    assert client.get(f"{API}/tasks").status_code == 401
    assert client.post(f"{API}/tasks/x/complete", json={"data": {}}).status_code == 401


def test_claim_by_another_is_a_conflict(client: FlaskClient, auth: Auth) -> None:
    submit(client)
    task = client.get(f"{API}/tasks", headers=auth("verifier")).json[0]
    assert client.post(f"{API}/tasks/{task['id']}/claim", headers=auth("verifier")).json["assignee"] == "verifier"
    from api.extensions import db
    from engine.directory.users import create_user  # a second verifier at the desk

    create_user(db.session(), "verifier2", "verifier", "rahasia-demo-1", "batam.diskominfo")
    db.session.commit()
    other = client.post(f"{API}/tasks/{task['id']}/claim", headers=auth("verifier2"))
    assert other.status_code == 409 and "claimed by verifier" in other.json["message"]
    done = client.post(
        f"{API}/tasks/{task['id']}/complete",
        json={"data": {"decision": "reject", "reason": "x"}},
        headers=auth("verifier2"),
    )
    assert done.status_code == 409


def test_the_task_detail_carries_its_form_and_the_case(client: FlaskClient, auth: Auth) -> None:
    submit(client, anonymous=True)
    task = client.get(f"{API}/tasks", headers=auth("verifier")).json[0]
    detail = client.get(f"{API}/tasks/{task['id']}", headers=auth("verifier")).json
    assert detail["form"]["properties"]["decision"]["enum"] == ["accept", "reject", "need_info"]
    assert detail["case"]["reporter"] == REPORTER


def test_a_process_owner_sees_no_complaint_reporter_or_attachment_but_the_figures(
    client: FlaskClient, auth: Auth
) -> None:
    """Least privilege: process owners design the lifecycle; they do not handle complaints."""
    waiting = submit(client)  # not yet verified: not public
    confidential = submit(client)
    dispose(client, auth, confidential["tracking_id"], confidential=True)
    public = submit(client)
    dispose(client, auth, public["tracking_id"])
    owner = auth("owner")
    for created in (waiting, confidential):
        tracking_id = created["tracking_id"]
        assert view(client, tracking_id, owner).status_code == 404
        assert client.get(f"{API}/complaints/{tracking_id}/history", headers=owner).status_code == 404
        upload = {"file": (io.BytesIO(b"%PDF-1.4 x"), "bukti.pdf")}
        path = f"{API}/complaints/{tracking_id}/attachments"
        answer = client.post(path, data=upload, headers=owner, content_type="multipart/form-data")
        assert answer.status_code in (403, 404)
    seen = view(client, public["tracking_id"], owner)  # what anyone may read, and no more
    assert seen.status_code == 200 and "reporter" not in seen.json
    assert "REPORTER" not in str(seen.json) and REPORTER["email"] not in str(seen.json)
    listed = client.get(f"{API}/complaints", headers=owner)
    assert listed.status_code in (200, 403)
    if listed.status_code == 200:
        assert listed.json["items"] == [] if isinstance(listed.json, dict) else listed.json == []
    figures = client.get(f"{API}/stats", headers=owner)
    assert figures.status_code == 200 and figures.json["counts"]["total"] == 3
    export = client.get(f"{API}/exports/complaints.csv", headers=owner)
    assert export.status_code in (200, 403)
    assert all(c["tracking_id"] not in export.get_data(as_text=True) for c in (waiting, confidential, public))
    moved = client.post(f"{API}/complaints/{waiting['tracking_id']}/migrate", json={"to_version": 1}, headers=owner)
    assert moved.status_code == 409  # found in the jurisdiction (already on version 1), not shown
