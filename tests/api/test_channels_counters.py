"""Suggestion box, counter, phone and letter: staff type a complaint in for a citizen, over the API."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from api.extensions import db
from engine.audit.chain import Event
from engine.cases.case import Case
from tests.api.conftest import Auth
from tests.images import JPEG

API = "/api/v1"
SLIP = {
    "title": "Lampu taman mati", "body": "Ditulis di lembar kotak saran: lampu taman Engku Putri mati.",
    "occurred_on": "2026-11-20",
}  # fmt: skip


def file(client: FlaskClient, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return client.post(f"{API}/complaints", json={**SLIP, **fields}, headers=headers or {})


def test_staff_type_in_a_slip_and_are_recorded_as_who_entered_it(client: FlaskClient, auth: Auth) -> None:
    answer = file(client, auth("verifier"), channel="kotak_saran", reporter={"name": "Pak Harun", "phone": "0812555"})
    assert answer.status_code == 201, answer.json
    tracking_id = answer.json["tracking_id"]
    case = db.session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()
    assert (case.channel, case.entered_by, str(case.occurred_on), case.reporter_username) == (
        "kotak_saran", "verifier", "2026-11-20", None,
    )  # fmt: skip
    [event] = db.session.scalars(sa.select(Event).where(Event.case_id == case.id))
    assert (event.type, event.actor, event.actor_role) == ("submitted", "verifier", "verifier")
    staff_view = client.get(f"{API}/complaints/{tracking_id}", headers=auth("verifier")).json
    assert (staff_view["entered_by"], staff_view["reporter"]["name"]) == ("verifier", "Pak Harun")
    token = {"X-Reporter-Token": answer.json["reporter_token"]}  # the citizen follows it with the handed-over code
    citizen_view = client.get(f"{API}/complaints/{tracking_id}", headers=token).json
    assert citizen_view["channel"] == "kotak_saran" and "entered_by" not in citizen_view


def test_the_clerk_attaches_the_scan_of_an_anonymous_slip_and_other_agencies_see_nothing(
    client: FlaskClient, auth: Auth
) -> None:
    answer = file(client, auth("dlh"), channel="surat", anonymous=True)
    assert answer.status_code == 201, answer.json
    tracking_id = answer.json["tracking_id"]
    scan = {"file": (io.BytesIO(JPEG), "surat.jpg", "image/jpeg")}
    path = f"{API}/complaints/{tracking_id}/attachments"
    assert client.post(path, data=scan, headers=auth("dlh")).status_code == 201  # the clerk who typed it in
    other = {"file": (io.BytesIO(JPEG), "x.jpg", "image/jpeg")}
    assert client.post(path, data=other, headers=auth("dishub")).status_code == 404
    assert client.get(f"{API}/complaints/{tracking_id}", headers=auth("dishub")).status_code == 404
    view = client.get(f"{API}/complaints/{tracking_id}", headers=auth("dlh")).json
    assert [a["filename"] for a in view["attachments"]] == ["surat.jpg"] and "reporter" not in view


def test_only_staff_file_on_the_paper_and_phone_channels(client: FlaskClient, auth: Auth) -> None:
    for channel in ("kotak_saran", "loket", "telepon", "surat"):
        refused = file(client, channel=channel)
        assert refused.status_code == 403, (channel, refused.json)
        assert channel in refused.json["message"]
    assert file(client, auth("auditor"), channel="loket").status_code == 403  # auditors only read
    for channel in ("sms", "whatsapp", "email", "open311"):  # they arrive through their own adapters
        assert file(client, channel=channel).status_code == 403
    unknown = file(client, channel="merpati")
    assert unknown.status_code == 422 and set(unknown.json["errors"]) == {"channel"}
    for channel in ("web", "app", "api"):
        assert file(client, channel=channel).status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 3


def test_each_channel_appears_in_stats_and_in_the_export(client: FlaskClient, auth: Auth) -> None:
    for channel, user in (("loket", "verifier"), ("loket", "dlh"), ("telepon", "verifier"), ("web", None)):
        assert file(client, auth(user) if user else None, channel=channel).status_code == 201
    stats = client.get(f"{API}/stats", headers=auth("auditor")).json
    assert {row["channel"]: row["counts"]["total"] for row in stats["by_channel"]} == {
        "loket": 2, "telepon": 1, "web": 1,
    }  # fmt: skip
    listed = client.get(f"{API}/complaints?channel=loket", headers=auth("auditor")).json
    assert listed["total"] == 2
    export = client.get(f"{API}/exports/complaints.csv", headers=auth("auditor"))
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted((r["channel"], r["entered_by"]) for r in rows) == [
        ("loket", "dlh"), ("loket", "verifier"), ("telepon", "verifier"), ("web", ""),
    ]  # fmt: skip
