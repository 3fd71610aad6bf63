"""Forms never lose what was typed: a refused file, a request over the size limit, a text over its limit —
the page comes back with every field and says what was refused and why."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.cases import attachments
from engine.cases.case import Case
from tests.images import PNG
from tests.web.test_pages import client, csrf, file_case, sign_in  # noqa: F401  (the fixture)

TYPED = {
    "title": "Lampu jalan mati di Sekupang",
    "body": "Tiga lampu mati sejak Senin, jalan gelap.",
    "kind": "complaint",
}


def count_cases(session: Session) -> int:
    return session.query(Case).count()


def test_a_file_over_the_limit_is_refused_before_filing_and_the_text_stays(
    client: FlaskClient,  # noqa: F811
    session: Session,
) -> None:
    big = PNG + b"\x00" * attachments.MAX_BYTES
    data = {**TYPED, "csrf_token": csrf(client, "/lapor"), "attachments": (io.BytesIO(big), "besar.png", "image/png")}
    page = client.post("/lapor", data=data, content_type="multipart/form-data")
    assert page.status_code == 422
    assert "Terlalu besar (paling banyak 10 MB per berkas): besar.png" in page.text
    assert TYPED["title"] in page.text and TYPED["body"] in page.text
    assert 'id="files-again"' in page.text  # says the files must be chosen again
    assert count_cases(session) == 0


def test_a_request_over_the_size_limit_shows_the_form_again_and_asks_the_browser_to_restore_it(
    app: Flask,
    client: FlaskClient,  # noqa: F811
    session: Session,
) -> None:
    token = csrf(client, "/lapor")
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    data = {**TYPED, "csrf_token": token, "attachments": (io.BytesIO(PNG + b"\x00" * 3 * 1024 * 1024), "x.png")}
    page = client.post("/lapor", data=data, content_type="multipart/form-data")
    assert page.status_code == 413
    assert 'id="complaint-form"' in page.text and '<meta name="aduan-restore" content="complaint-form">' in page.text
    assert "lebih besar dari 2 MB" in page.text and "Galat 413" not in page.text
    assert count_cases(session) == 0


def test_a_task_form_over_the_size_limit_comes_back_as_the_task(
    app: Flask,
    client: FlaskClient,  # noqa: F811
    session: Session,
) -> None:
    case = file_case(session)
    sign_in(client, "verifier")
    path = re.search(r'href="(/tugas/[^"]+)"', client.get("/kotak-masuk").text)[1]  # type: ignore[index]
    token = csrf(client, path)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    data = {"csrf_token": token, "decision": "reject", "reason": "x" * 2 * 1024 * 1024}
    page = client.post(path, data=data)
    assert page.status_code == 413
    assert 'id="task-form"' in page.text and 'name="aduan-restore"' in page.text
    assert case.tracking_id in page.text


def test_a_text_over_its_limit_is_named_and_the_rest_stays(client: FlaskClient, session: Session) -> None:  # noqa: F811
    case = file_case(session)
    sign_in(client, "verifier")
    data = {"csrf_token": csrf(client, f"/aduan/{case.tracking_id}"), "body": "x" * 5001, "audience": "staff"}
    page = client.post(f"/aduan/{case.tracking_id}/pesan", data=data)
    assert page.status_code == 422
    assert "Pesan Anda tidak terkirim" in page.text
    assert "x" * 5001 in page.text  # what was typed is in the form again


def test_the_reporter_can_have_the_codes_sent_to_their_email(client: FlaskClient, session: Session) -> None:  # noqa: F811
    from engine.notify.outbox import OutboxMessage

    data = {**TYPED, "reporter_name": "Siti", "reporter_email": "siti@example.id", "csrf_token": csrf(client, "/lapor")}
    case_page = client.post("/lapor", data=data).location
    page = client.get(case_page).text
    assert 'id="send-codes"' in page and 'data-copy="reporter-token"' in page
    sent = client.post(f"{case_page}/kirim-kode", data={"csrf_token": csrf(client, case_page)}, follow_redirects=True)
    assert "Kode sedang dikirim ke e-mail Anda." in sent.text
    templates = [r.payload["template"] for r in session.query(OutboxMessage).order_by(OutboxMessage.id)]
    assert templates == ["received", "secret_code"]
    stranger = client.application.test_client()
    assert stranger.post(f"{case_page}/kirim-kode", data={"csrf_token": csrf(stranger, "/lacak")}).status_code == 404
