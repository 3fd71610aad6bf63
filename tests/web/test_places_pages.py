"""Places pages without a browser: the point and area on /lapor, support, public figures, map, report."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.resources.places import PUBLIC_FIGURES
from engine.places import batam
from tests.web.test_pages import accept, csrf, file_case, sign_in


@pytest.fixture
def client(app: Flask, demo_directory: None) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def areas(session: Session, client: FlaskClient) -> None:
    batam.seed(session)
    session.commit()


def test_the_form_offers_the_map_typed_coordinates_and_the_districts(client: FlaskClient, areas: None) -> None:
    page = client.get("/lapor").text
    assert 'id="latitude"' in page and 'id="longitude"' in page and "Gunakan lokasi saya" in page
    assert '<option value="batam.sekupang"' in page and 'data-tile-url="https://tile.openstreetmap.org/' in page


def test_typed_coordinates_file_a_point_and_its_district(client: FlaskClient, areas: None) -> None:
    form = {"csrf_token": csrf(client, "/lapor"), "kind": "complaint", "title": "Sampah menumpuk",
            "body": "Sampah belum diangkut lima hari.", "latitude": "1.13", "longitude": "104.05"}  # fmt: skip
    answer = client.post("/lapor", data=form, follow_redirects=True)
    assert answer.status_code == 200
    assert 'id="case-area">batam.batam-kota<' in answer.text and 'id="case-point">1.13, 104.05<' in answer.text
    bad = client.post("/lapor", data={**form, "latitude": "95"})
    assert bad.status_code == 422 and 'id="latitude"' in bad.text and 'aria-invalid="true"' in bad.text


def test_the_public_supports_a_verified_complaint_from_its_page(client: FlaskClient, session: Session) -> None:
    case = file_case(session)
    accept(session, case)
    page = client.get(f"/aduan/{case.tracking_id}").text
    assert "Dukung aduan ini" in page and 'id="case-supporters">0<' in page
    token = csrf(client, f"/aduan/{case.tracking_id}")
    answer = client.post(f"/aduan/{case.tracking_id}/dukung", data={"csrf_token": token, "email": "a@example.id"},
                         follow_redirects=True)  # fmt: skip
    assert 'id="case-supporters">1<' in answer.text and "Terima kasih" in answer.text
    secret = file_case(session, confidential=True)
    accept(session, secret)
    assert client.post(f"/aduan/{secret.tracking_id}/dukung", data={"csrf_token": token}).status_code == 404


def test_public_figures_need_no_sign_in_and_show_their_definitions(app: Flask, client: FlaskClient) -> None:
    PUBLIC_FIGURES.items.clear()
    page = client.get("/statistik-publik")
    assert page.status_code == 200
    assert "Statistik publik" in page.text and "Definisi" in page.text and 'id="public-total">0<' in page.text
    assert "Public figures" in client.get("/statistik-publik?lang=en").text


def test_the_hot_spot_map_and_the_quarterly_report_are_for_staff(client: FlaskClient, session: Session) -> None:
    assert client.get("/peta").status_code == 302  # to the login page
    sign_in(client, "auditor")
    assert "Titik rawan" in client.get("/peta").text
    assert "Laporan triwulan (PDF)" in client.get("/statistik").text
    report = client.get("/statistik/laporan-triwulan?quarter=2024Q2")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    assert client.get("/statistik/laporan-triwulan?quarter=2024Q9").status_code == 422
