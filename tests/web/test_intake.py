"""The staff intake page (/catat): a clerk types in a slip, a letter or a call, with the scan attached."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.cases import attachments
from engine.cases.case import Case
from tests.images import JPEG
from tests.web.test_pages import client, csrf, sign_in  # noqa: F401  (the pages' client fixture)


def slip(token: str, **fields: str) -> dict[str, object]:
    return {
        "csrf_token": token, "channel": "telepon", "kind": "complaint", "title": "Air PDAM keruh",
        "body": "Warga menelepon: air PDAM keruh sejak tiga hari di Tiban.", "occurred_on": "2026-11-25",
        "reporter_name": "Bu Rina", "reporter_phone": "0812 3456 789", **fields,
    }  # fmt: skip


def test_a_clerk_records_a_phone_call_with_a_scan_and_hands_over_the_codes(
    client: FlaskClient,  # noqa: F811
    session: Session,
) -> None:
    sign_in(client, "dlh")
    page = client.get("/catat")
    assert page.status_code == 200 and "Catat aduan" in page.text and 'value="kotak_saran"' in page.text
    data = slip(csrf(client, "/catat"), attachments=(io.BytesIO(JPEG), "catatan.jpg", "image/jpeg"))
    answer = client.post("/catat", data=data, content_type="multipart/form-data")
    assert answer.status_code == 302, answer.text
    case = session.scalars(sa.select(Case)).one()
    assert (case.channel, case.entered_by, str(case.occurred_on)) == ("telepon", "dlh", "2026-11-25")
    assert case.contact_phone == "628123456789"
    assert [a.filename for a in attachments.list_for(session, case)] == ["catatan.jpg"]
    shown = client.get(answer.headers["Location"]).text
    assert "Aduan telah dicatat" in shown and case.tracking_id in shown and 'id="reporter-token"' in shown
    assert "dicatat oleh dlh" in shown and "Telepon" in shown


def test_the_form_names_what_is_missing_and_keeps_what_was_typed(client: FlaskClient) -> None:  # noqa: F811
    sign_in(client, "verifier")
    answer = client.post("/catat", data=slip(csrf(client, "/catat"), channel="", title="Air"))
    assert answer.status_code == 422
    assert "Pilih bagaimana aduan diterima." in answer.text and "Warga menelepon" in answer.text
    answer = client.post("/catat", data=slip(csrf(client, "/catat"), title="Ai"))
    assert answer.status_code == 422 and 'aria-invalid="true"' in answer.text


def test_the_dashboard_counts_complaints_by_channel(client: FlaskClient, session: Session) -> None:  # noqa: F811
    sign_in(client, "verifier")
    for channel in ("loket", "loket", "surat"):
        client.post("/catat", data=slip(csrf(client, "/catat"), channel=channel))
    page = client.get("/statistik").text
    table = page[page.index('id="by-channel"') :]
    assert "Loket layanan (datang langsung)</td>" in table and "Surat</td>" in table
    assert session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.channel == "loket")) == 2


def test_only_staff_who_handle_complaints_record_them(client: FlaskClient) -> None:  # noqa: F811
    assert client.get("/catat").status_code == 302  # to the sign-in page
    sign_in(client, "auditor")
    assert client.get("/catat").status_code == 403
    assert client.post("/catat", data=slip(csrf(client, "/aduan"))).status_code == 403
