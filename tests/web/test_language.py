"""Indonesian first wherever a citizen or officer reads: task and diagram names by element id, form texts,
statuses, dates (`3 Des 2026 23.59 WIB`), the words fixed on /lacak and /proses."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import flask_babel
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.web import element_names, when
from tests.web.test_pages import client, file_case, sign_in  # noqa: F401  (the fixture)

MOMENT = datetime(2026, 12, 3, 16, 59, tzinfo=UTC)  # 23:59 in Jakarta


def test_dates_read_the_indonesian_way_and_in_english_on_request(app: Flask) -> None:
    with app.test_request_context("/?lang=id"):
        assert when(MOMENT) == "3 Des 2026 23.59 WIB"
        assert when(MOMENT, "short") == "3 Des 2026 23.59 WIB"
    with app.test_request_context("/?lang=en"):
        flask_babel.refresh()  # the locale is cached per app context
        assert when(MOMENT) == "3 Dec 2026 23:59 WIB"


def test_a_known_element_is_named_from_the_catalogue_and_a_new_one_by_its_diagram(app: Flask) -> None:
    with app.test_request_context("/?lang=id"):
        assert element_names.element_name("verify", "Verify complaint") == "Verifikasi aduan"
        assert element_names.element_name("thank_reporter", "Thank the reporter") == "Thank the reporter"
    with app.test_request_context("/?lang=en"):
        flask_babel.refresh()
        assert element_names.element_name("verify", "Check the complaint") == "Check the complaint"
        assert element_names.element_name("thank_reporter", "Thank the reporter") == "Thank the reporter"


def test_the_inbox_and_the_task_page_are_indonesian(client: FlaskClient, session: Session) -> None:  # noqa: F811
    case = file_case(session)
    sign_in(client, "verifier")
    inbox = client.get("/kotak-masuk").text
    assert "Verifikasi aduan" in inbox and "Verify complaint" not in inbox
    task = client.get(re.search(r'href="(/tugas/[^"]+)"', inbox)[1]).text  # type: ignore[index]
    assert "Keputusan verifikator atas aduan baru" in task  # the form's description
    assert "Verifikasi aduan" in task and case.tracking_id in task
    english = client.get(re.search(r'href="(/tugas/[^"]+)"', inbox)[1] + "?lang=en").text  # type: ignore[index]
    assert "Verify complaint" in english


def test_the_audit_diagram_is_labelled_in_indonesian(client: FlaskClient, session: Session) -> None:  # noqa: F811
    case = file_case(session)
    sign_in(client, "auditor")
    page = client.get(f"/audit/{case.tracking_id}").text
    viewer = json.loads(re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    assert 'id="verify" name="Verifikasi aduan"' in viewer["xml"]
    assert 'name="tolak"' in viewer["xml"]  # a flow's label
    english = client.get(f"/audit/{case.tracking_id}?lang=en").text
    assert "Verifikasi aduan" not in english


def test_the_wrong_words_are_fixed(client: FlaskClient) -> None:  # noqa: F811
    assert "Buka aduan saya" in client.get("/lacak").text and "Belum selesai" not in client.get("/lacak").text
    sign_in(client, "owner")
    processes = client.get("/proses").text
    assert "Jenis definisi" in processes and "Jenis laporan" not in processes
