"""Citizens' account pages: register, confirm by the e-mailed link, sign in, file and find one's
complaints in "Laporan saya", add a complaint filed as a guest with its secret code."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.web.login import STAFF_ROLES
from engine.cases import lifecycle
from engine.notify import delivery as notify
from engine.notify.outbox import OutboxMessage
from tests.web.test_pages import client, csrf, file_case  # noqa: F401  (the fixture)

PASSWORD = "rahasia-wulan-1"


def register(client: FlaskClient, session: Session) -> None:  # noqa: F811
    form = {"username": "wulandari", "name": "Wulan", "email": "wulan@example.id", "password": PASSWORD}
    answer = client.post("/daftar", data={**form, "csrf_token": csrf(client, "/daftar")})
    assert answer.status_code == 302 and answer.location == "/akun/masuk", answer.text
    row = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id.is_(None))).one()
    mail = notify.render(None, row.payload["template"], row.payload["params"], "wulan@example.id", "k", "http://x")
    link = re.search(r"http://x(/daftar/konfirmasi\?token=\S+)", mail.body)
    assert link, mail.body
    confirmed = client.get(link[1])
    assert confirmed.status_code == 302 and confirmed.location == "/akun/masuk"


def sign_in(client: FlaskClient) -> None:  # noqa: F811
    data = {"username": "wulandari", "password": PASSWORD, "csrf_token": csrf(client, "/akun/masuk")}
    answer = client.post("/akun/masuk", data=data)
    assert answer.status_code == 302 and answer.location == "/laporan-saya", answer.text


def test_a_citizen_registers_confirms_and_finds_their_complaints(client: FlaskClient, session: Session) -> None:  # noqa: F811
    register(client, session)
    assert "reporter" not in STAFF_ROLES
    sign_in(client)
    body = {"title": "Sampah menumpuk di Tiban", "body": "Sudah seminggu tidak diangkut.", "kind": "complaint"}
    filed = client.post("/lapor", data={**body, "csrf_token": csrf(client, "/lapor")})
    tracking_id = urlsplit(filed.location).path.rsplit("/", 1)[1]
    page = client.get("/laporan-saya").text
    assert "Laporan saya" in page and tracking_id in page
    assert client.get(f"/aduan/{tracking_id}").status_code == 200
    assert client.get("/kotak-masuk").status_code == 302  # a citizen is not staff


def test_an_account_that_is_not_confirmed_cannot_sign_in(client: FlaskClient) -> None:  # noqa: F811
    form = {"username": "budi", "email": "budi@example.id", "password": PASSWORD, "csrf_token": csrf(client, "/daftar")}
    assert client.post("/daftar", data=form).status_code == 302
    data = {"username": "budi", "password": PASSWORD, "csrf_token": csrf(client, "/akun/masuk")}
    refused = client.post("/akun/masuk", data=data)
    assert refused.status_code == 401 and "belum aktif" in refused.text
    assert client.get("/daftar/konfirmasi?token=palsu").location == "/daftar"


def test_registration_errors_keep_the_fields(client: FlaskClient) -> None:  # noqa: F811
    form = {"username": "budi", "email": "bukan-email", "password": "pendek", "name": "Budi Santoso"}
    page = client.post("/daftar", data={**form, "csrf_token": csrf(client, "/daftar")})
    assert page.status_code == 422
    assert 'value="Budi Santoso"' in page.text and 'id="email-error"' in page.text


def test_a_guest_complaint_is_added_with_its_secret_code(client: FlaskClient, session: Session) -> None:  # noqa: F811
    outcome = lifecycle.start_case(session, lifecycle.Submission(title="Lampu mati", body="Sudah seminggu gelap."))
    register(client, session)
    sign_in(client)
    wrong = {"tracking_id": outcome.case.tracking_id, "token": "salah", "csrf_token": csrf(client, "/laporan-saya")}
    assert "tidak ada aduan dengan nomor" in client.post("/laporan-saya", data=wrong, follow_redirects=True).text
    right = {**wrong, "token": outcome.reporter_token}
    page = client.post("/laporan-saya", data=right, follow_redirects=True).text
    assert f"Aduan {outcome.case.tracking_id} kini ada di akun Anda." in page
    assert outcome.case.tracking_id in page


def test_a_taken_username_is_said_in_indonesian(client: FlaskClient, session: Session) -> None:  # noqa: F811
    register(client, session)
    form = {"username": "wulandari", "email": "lain@example.id", "password": PASSWORD}
    page = client.post("/daftar", data={**form, "csrf_token": csrf(client, "/daftar")})
    assert page.status_code == 422 and "Nama ini sudah dipakai; pilih yang lain." in page.text
