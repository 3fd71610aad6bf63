"""`GET /exports/complaints.csv`: a period's cases, streamed, scoped like the list, identity only where visible."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.extensions import db
from engine.audit.chain import ReadLog
from tests.api.conftest import API, Auth
from tests.engine.conftest import VERIFIER, Desk

MONDAY = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 09:00 WIB
REPORTER = {"name": "Siti Aminah", "email": "siti@example.id"}


@pytest.fixture
def cases(session: Session, client: FlaskClient) -> dict[str, str]:
    """An anonymous complaint to dlh, a named one to dishub, one still at the desk (Mon 30 Nov, Tue 1 Dec)."""
    ids: dict[str, str] = {}
    with time_machine.travel(MONDAY, tick=False) as clock:
        for name, agency, extra in (
            ("dlh", "batam.dlh", {"anonymous": True}),
            ("dishub", "batam.dishub", {"title": '=HYPERLINK("http://x")'}),
            ("desk", None, {}),
        ):
            body = {"title": "Lampu jalan mati", "body": "Sudah seminggu.", "reporter": REPORTER, **extra}
            answer = client.post(f"{API}/complaints", json=body)
            assert answer.status_code == 201, answer.json
            ids[name] = answer.json["tracking_id"]
            if agency:
                desk = Desk(session)
                desk.tracking_id = ids[name]
                desk.do(VERIFIER, "verify", decision="accept", agency=agency)
            clock.move_to(MONDAY + timedelta(days=1))
    return ids


def export(client: FlaskClient, auth: Auth, user: str, **query: str) -> list[dict[str, str]]:
    answer = client.get(f"{API}/exports/complaints.csv", query_string=query, headers=auth(user))
    assert answer.status_code == 200, answer.json
    assert answer.is_streamed and answer.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def test_an_officer_exports_only_their_agency_cases(client: FlaskClient, auth: Auth, cases: dict[str, str]) -> None:
    rows = export(client, auth, "dishub")
    assert [(r["tracking_id"], r["agency"], r["status"]) for r in rows] == [
        (cases["dishub"], "batam.dishub", "dispositioned")
    ]
    assert [r["tracking_id"] for r in export(client, auth, "dlh")] == [cases["dlh"]]


def test_the_desk_and_auditors_export_every_case_oldest_first(
    client: FlaskClient, auth: Auth, cases: dict[str, str]
) -> None:
    expected = [cases["dlh"], cases["dishub"], cases["desk"]]
    assert [r["tracking_id"] for r in export(client, auth, "verifier")] == expected
    assert [r["tracking_id"] for r in export(client, auth, "auditor")] == expected
    assert [r["tracking_id"] for r in export(client, auth, "auditor", agency="batam.dlh")] == [cases["dlh"]]


def test_the_period_is_local_dates_of_submission(client: FlaskClient, auth: Auth, cases: dict[str, str]) -> None:
    assert [r["tracking_id"] for r in export(client, auth, "auditor", to="2026-11-30")] == [cases["dlh"]]
    rows = export(client, auth, "auditor", **{"from": "2026-12-01", "to": "2026-12-01"})
    assert [r["tracking_id"] for r in rows] == [cases["dishub"], cases["desk"]]


def test_reporter_identity_only_where_the_caller_may_see_it(
    client: FlaskClient, auth: Auth, cases: dict[str, str]
) -> None:
    dlh_view = export(client, auth, "dlh")[0]  # anonymous: hidden from the agency
    assert (dlh_view["reporter_name"], dlh_view["reporter_email"]) == ("", "")
    dishub_view = export(client, auth, "dishub")[0]  # not anonymous: the agency sees who
    assert dishub_view["reporter_name"] == "Siti Aminah"
    desk_view = {r["tracking_id"]: r for r in export(client, auth, "verifier")}
    assert desk_view[cases["dlh"]]["reporter_name"] == "Siti Aminah"  # the desk sees anonymous reporters


def test_cells_are_never_spreadsheet_formulas(client: FlaskClient, auth: Auth, cases: dict[str, str]) -> None:
    assert export(client, auth, "dishub")[0]["title"] == '\'=HYPERLINK("http://x")'


def test_the_csv_carries_the_kpi_columns(client: FlaskClient, auth: Auth, cases: dict[str, str]) -> None:
    row = export(client, auth, "dlh")[0]
    assert (row["created_on"], row["disposition_count"], row["verification_working_days"]) == ("2026-11-30", "1", "0.0")
    assert row["first_follow_up_due_at"] == "2026-12-07T16:59:59+00:00"


def test_an_auditor_export_is_logged_as_a_read_of_every_case(
    client: FlaskClient, auth: Auth, cases: dict[str, str]
) -> None:
    export(client, auth, "verifier")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReadLog)) == 0
    export(client, auth, "auditor", agency="batam")
    reads = db.session.execute(sa.select(ReadLog.actor, ReadLog.what)).all()
    assert sorted(reads) == [("auditor", "export")] * 2  # the two cases with an agency


@pytest.mark.parametrize(
    ("query", "field"), [({"from": "30-11-2026"}, "from"), ({"agency": "nowhere"}, "agency")], ids=["date", "agency"]
)
def test_bad_parameters_are_422(client: FlaskClient, auth: Auth, query: dict[str, str], field: str) -> None:
    answer = client.get(f"{API}/exports/complaints.csv", query_string=query, headers=auth("auditor"))
    assert answer.status_code == 422 and field in answer.json["errors"]


def test_exports_are_for_staff(client: FlaskClient, auth: Auth) -> None:
    assert client.get(f"{API}/exports/complaints.csv").status_code == 401


def test_a_large_export_arrives_in_chunks(session: Session, client: FlaskClient, auth: Any) -> None:
    from engine.audit import exports

    chunks = list(exports.csv_lines(("n",), ([n] for n in range(1200)), batch=500))
    assert len(chunks) == 3 and chunks[0].startswith("n\r\n0\r\n")
    assert sum(chunk.count("\r\n") for chunk in chunks) == 1201
