"""Specification of the directory and calendar endpoints: /agencies, /users, /categories, /calendar/holidays.

Staff read, admins write, categories are public. Each test acts as one caller; whether a failed request
stored anything is read in a fresh session, i.e. what was committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.extensions import db
from engine.calendar.days import CalendarDay
from engine.db import Base
from engine.directory import demo, users
from engine.directory.agencies import Agency
from engine.directory.categories import Category
from engine.directory.users import User
from tests.api.conftest import API
from tests.conftest import DEMO_PASSWORD

Auth = Callable[[str], dict[str, str]]
DEMO_AGENCIES = [
    "batam",
    "batam.dinkes",
    "batam.dinkes.puskesmas-sekupang",
    "batam.dishub",
    "batam.diskominfo",
    "batam.dlh",
]
DEMO_USERS = ["admin", "auditor", "dinkes", "dishub", "dlh", "dlh.head", "owner", "verifier", "verifier.head"]

NEW_AGENCY = {"code": "batam.disdik", "name": "Dinas Pendidikan", "parent": "batam"}
NEW_USER = {"username": "dlh.2", "role": "officer", "agency": "batam.dlh", "password": "kata-sandi-1"}
NEW_CATEGORY = {"code": "jalan", "name": "Jalan Rusak", "agency": "batam.dishub"}
NEW_DAY = {"day": "2026-12-18", "kind": "holiday", "name": "Hari Jadi Kota Batam"}

WRITES = [
    ("/agencies", NEW_AGENCY, Agency, "batam.disdik"),
    ("/users", NEW_USER, User, "dlh.2"),
    ("/categories", NEW_CATEGORY, Category, "jalan"),
    ("/calendar/holidays", NEW_DAY, CalendarDay, date(2026, 12, 18)),
]
STAFF_READS = ["/agencies", "/agencies/batam", "/users", "/calendar/holidays?year=2026"]


def stored(model: type[Base], key: object) -> bool:
    """Whether such a row is committed (a fresh session: not the one the requests share)."""
    with Session(db.engine) as fresh:
        return fresh.get(model, key) is not None


@pytest.fixture
def reporter(session: Session) -> str:
    """A registered reporter (a citizen's account): signed in, but no staff."""
    users.create_user(session, "warga", "reporter", DEMO_PASSWORD)
    session.commit()
    return "warga"


# Who may call what -------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "model", "key"), WRITES, ids=[w[0] for w in WRITES])
def test_an_admin_adds_to_the_directory_and_calendar(
    client: FlaskClient, auth: Auth, path: str, body: dict[str, Any], model: type[Base], key: object
) -> None:
    answer = client.post(API + path, json=body, headers=auth("admin"))
    assert answer.status_code == 201, answer.json
    assert stored(model, key)


@pytest.mark.parametrize("caller", ["dlh", "dlh.head", "verifier", "owner", "auditor"])
@pytest.mark.parametrize(("path", "body", "model", "key"), WRITES, ids=[w[0] for w in WRITES])
def test_other_staff_cannot_change_the_directory_or_calendar(
    client: FlaskClient, auth: Auth, caller: str, path: str, body: dict[str, Any], model: type[Base], key: object
) -> None:
    answer = client.post(API + path, json=body, headers=auth(caller))
    assert answer.status_code == 403
    assert not stored(model, key)


@pytest.mark.parametrize(("path", "body", "model", "key"), WRITES, ids=[w[0] for w in WRITES])
def test_changing_the_directory_without_a_token_is_401(
    client: FlaskClient, path: str, body: dict[str, Any], model: type[Base], key: object
) -> None:
    assert client.post(API + path, json=body).status_code == 401
    assert not stored(model, key)


@pytest.mark.parametrize(("path", "body", "model", "key"), WRITES, ids=[w[0] for w in WRITES])
def test_a_reporter_cannot_change_the_directory(
    client: FlaskClient, auth: Auth, reporter: str, path: str, body: dict[str, Any], model: type[Base], key: object
) -> None:
    assert client.post(API + path, json=body, headers=auth(reporter)).status_code == 403
    assert not stored(model, key)


@pytest.mark.parametrize("path", STAFF_READS)
@pytest.mark.parametrize("caller", ["verifier", "dlh", "dlh.head", "owner", "auditor", "admin"])
def test_every_staff_role_reads_the_directory_and_calendar(
    client: FlaskClient, auth: Auth, caller: str, path: str
) -> None:
    assert client.get(API + path, headers=auth(caller)).status_code == 200


@pytest.mark.parametrize("path", STAFF_READS)
def test_reading_the_directory_without_a_token_is_401(client: FlaskClient, path: str) -> None:
    assert client.get(API + path).status_code == 401


@pytest.mark.parametrize("path", STAFF_READS)
def test_a_reporter_cannot_read_the_directory(client: FlaskClient, auth: Auth, reporter: str, path: str) -> None:
    assert client.get(API + path, headers=auth(reporter)).status_code == 403


@pytest.mark.parametrize(("path", "body", "model", "key"), WRITES, ids=[w[0] for w in WRITES])
def test_an_unknown_field_is_422_naming_it_and_stores_nothing(
    client: FlaskClient, auth: Auth, path: str, body: dict[str, Any], model: type[Base], key: object
) -> None:
    answer = client.post(API + path, json={**body, "status": "closed"}, headers=auth("admin"))
    assert answer.status_code == 422
    assert answer.json["errors"] == {"status": ["Unknown field."]}
    assert not stored(model, key)


# Agencies ------------------------------------------------------------------------


def test_agencies_are_listed_in_tree_order(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/agencies", headers=auth("dlh"))
    assert [agency["code"] for agency in answer.json] == DEMO_AGENCIES
    assert answer.json[0] == {
        "code": "batam",
        "name": "Pemerintah Kota Batam",
        "parent": None,
        "desk": False,
        "external": False,
    }


def test_an_admin_creates_an_agency_under_its_parent(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(f"{API}/agencies", json=NEW_AGENCY, headers=auth("admin"))
    assert answer.status_code == 201
    assert answer.json == {
        "code": "batam.disdik",
        "name": "Dinas Pendidikan",
        "parent": "batam",
        "desk": False,
        "external": False,
    }
    assert client.get(f"{API}/agencies/batam.disdik", headers=auth("admin")).json == answer.json


def test_an_admin_creates_a_root_agency_with_a_verification_desk(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(
        f"{API}/agencies", json={"code": "riau", "name": "Provinsi Riau", "desk": True}, headers=auth("admin")
    )
    assert answer.status_code == 201
    assert answer.json == {"code": "riau", "name": "Provinsi Riau", "parent": None, "desk": True, "external": False}


def test_an_agency_is_found_by_its_code(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/agencies/batam.dinkes.puskesmas-sekupang", headers=auth("dinkes"))
    assert answer.status_code == 200
    assert answer.json == {
        "code": "batam.dinkes.puskesmas-sekupang",
        "name": "Puskesmas Sekupang",
        "parent": "batam.dinkes",
        "desk": False,
        "external": False,
    }


def test_an_unknown_agency_is_404(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/agencies/batam.nowhere", headers=auth("dlh"))
    assert answer.status_code == 404
    assert answer.json["code"] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "Batam.Disdik", "name": "X", "parent": "batam"}, "code"),
        ({"code": "batam..disdik", "name": "X", "parent": "batam"}, "code"),
        ({"code": "disdik", "name": "X", "parent": "batam"}, "code"),
        ({"code": "batam.disdik", "name": "X"}, "code"),
        ({"code": "riau.disdik", "name": "X", "parent": "riau"}, "parent"),
        ({"code": "batam.disdik", "name": ""}, "name"),
        ({"code": "batam.disdik", "name": "x" * 201, "parent": "batam"}, "name"),
        ({"code": "batam.disdik", "parent": "batam"}, "name"),
        ({"name": "Dinas Pendidikan", "parent": "batam"}, "code"),
        ({**NEW_AGENCY, "desk": "maybe"}, "desk"),
        ({**NEW_AGENCY, "code": "batam." + "a" * 200}, "code"),
        ({**NEW_AGENCY, "code": "batam.disdik\n"}, "code"),
    ],
    ids=[
        "upper-case",
        "empty-segment",
        "not-under-parent",
        "dotted-root",
        "unknown-parent",
        "empty-name",
        "long-name",
        "no-name",
        "no-code",
        "desk-not-bool",
        "long-code",
        "trailing-newline",
    ],
)
def test_a_bad_agency_is_422_naming_the_field_and_stores_nothing(
    client: FlaskClient, auth: Auth, body: dict[str, Any], field: str
) -> None:
    answer = client.post(f"{API}/agencies", json=body, headers=auth("admin"))
    assert answer.status_code == 422
    assert field in answer.json["errors"]
    assert not stored(Agency, body.get("code", "batam.disdik"))


def test_a_duplicate_agency_is_422_and_leaves_the_existing_one(client: FlaskClient, auth: Auth) -> None:
    body = {"code": "batam.dlh", "name": "Renamed", "parent": "batam"}
    answer = client.post(f"{API}/agencies", json=body, headers=auth("admin"))
    assert answer.status_code == 422
    assert "code" in answer.json["errors"]
    with Session(db.engine) as fresh:
        assert fresh.get_one(Agency, "batam.dlh").name == "Dinas Lingkungan Hidup"


# Users ---------------------------------------------------------------------------


def test_an_admin_lists_every_user_without_any_password(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/users", headers=auth("admin"))
    assert [user["username"] for user in answer.json] == DEMO_USERS
    assert "password" not in answer.text
    assert "$argon2" not in answer.text


def test_an_auditor_lists_every_user(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/users", headers=auth("auditor"))
    assert [user["username"] for user in answer.json] == DEMO_USERS


def test_a_supervisor_lists_the_users_of_their_own_agency_to_pick_an_assignee(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/users", headers=auth("dlh.head"))
    assert [(user["username"], user["role"]) for user in answer.json] == [
        ("dlh", "officer"),
        ("dlh.head", "supervisor"),
    ]


def test_staff_also_see_the_users_of_their_agencys_units(client: FlaskClient, auth: Auth, session: Session) -> None:
    users.create_user(session, "sekupang", "officer", DEMO_PASSWORD, "batam.dinkes.puskesmas-sekupang")
    session.commit()
    answer = client.get(f"{API}/users", headers=auth("dinkes"))
    assert [user["username"] for user in answer.json] == ["dinkes", "sekupang"]


def test_a_unit_officer_does_not_see_the_users_of_its_parent_agency(
    client: FlaskClient, auth: Auth, session: Session
) -> None:
    users.create_user(session, "sekupang", "officer", DEMO_PASSWORD, "batam.dinkes.puskesmas-sekupang")
    session.commit()
    answer = client.get(f"{API}/users", headers=auth("sekupang"))
    assert [user["username"] for user in answer.json] == ["sekupang"]


def test_staff_without_an_agency_see_no_users(client: FlaskClient, auth: Auth, session: Session) -> None:
    users.create_user(session, "owner.2", "process_owner", DEMO_PASSWORD)
    session.commit()
    answer = client.get(f"{API}/users", headers=auth("owner.2"))
    assert answer.status_code == 200
    assert answer.json == []


def test_the_user_list_narrows_by_role_and_agency_subtree(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/users?role=supervisor&agency=batam.dlh", headers=auth("admin"))
    assert [user["username"] for user in answer.json] == ["dlh.head"]


def test_a_filter_cannot_widen_a_supervisors_view(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{API}/users?agency=batam", headers=auth("dlh.head"))
    assert [user["username"] for user in answer.json] == ["dlh", "dlh.head"]


@pytest.mark.parametrize(("query", "field"), [("role=king", "role"), ("agency=", "agency"), ("colour=red", "colour")])
def test_a_bad_user_filter_is_422_naming_it(client: FlaskClient, auth: Auth, query: str, field: str) -> None:
    answer = client.get(f"{API}/users?{query}", headers=auth("admin"))
    assert answer.status_code == 422
    assert field in answer.json["errors"]


def test_an_admin_creates_a_user_who_can_then_sign_in(client: FlaskClient, auth: Auth) -> None:
    body = {**NEW_USER, "name": "Siti", "email": "siti@batam.go.id", "phone": "+62 778 123"}
    answer = client.post(f"{API}/users", json=body, headers=auth("admin"))
    assert answer.status_code == 201
    assert {key: answer.json[key] for key in ("username", "role", "agency", "name", "email", "phone", "active")} == {
        "username": "dlh.2",
        "role": "officer",
        "agency": "batam.dlh",
        "name": "Siti",
        "email": "siti@batam.go.id",
        "phone": "+62 778 123",
        "active": True,
    }
    assert "password" not in answer.text
    assert "$argon2" not in answer.text
    token = client.post(f"{API}/auth/token", json={"username": "dlh.2", "password": "kata-sandi-1"})
    assert token.status_code == 200


def test_a_user_without_a_display_name_is_named_after_the_username(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(f"{API}/users", json=NEW_USER, headers=auth("admin"))
    assert answer.json["name"] == "dlh.2"
    assert answer.json["email"] is None


def test_an_admin_or_auditor_needs_no_agency(client: FlaskClient, auth: Auth) -> None:
    body = {"username": "auditor.2", "role": "auditor", "password": "kata-sandi-1"}
    answer = client.post(f"{API}/users", json=body, headers=auth("admin"))
    assert answer.status_code == 201
    assert answer.json["agency"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "x"}, "username"),
        ({"username": "Siti Rahma"}, "username"),
        ({"username": "s" * 65}, "username"),
        ({"username": "dlh"}, "username"),
        ({"username": "siti\n"}, "username"),
        ({"role": "king"}, "role"),
        ({"agency": None}, "agency"),
        ({"agency": "batam.nowhere"}, "agency"),
        ({"password": "short"}, "password"),
        ({"password": "p" * 201}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "1" * 41}, "phone"),
        ({"name": "n" * 201}, "name"),
        ({"active": False}, "active"),
        ({"password_hash": "$argon2id$..."}, "password_hash"),
    ],
    ids=[
        "short-username",
        "spaces",
        "long-username",
        "taken",
        "trailing-newline",
        "unknown-role",
        "officer-without-agency",
        "unknown-agency",
        "short-password",
        "long-password",
        "bad-email",
        "long-phone",
        "long-name",
        "active",
        "password-hash",
    ],
)
def test_a_bad_user_is_422_naming_the_field_and_stores_nothing(
    client: FlaskClient, auth: Auth, changes: dict[str, Any], field: str
) -> None:
    body = {**NEW_USER, **changes}
    answer = client.post(f"{API}/users", json=body, headers=auth("admin"))
    assert answer.status_code == 422
    assert field in answer.json["errors"]
    if body["username"] != "dlh":
        assert not stored(User, body["username"])


def test_a_taken_username_keeps_its_owner(client: FlaskClient, auth: Auth) -> None:
    client.post(f"{API}/users", json={**NEW_USER, "username": "dlh", "role": "admin"}, headers=auth("admin"))
    with Session(db.engine) as fresh:
        assert fresh.get_one(User, "dlh").role == "officer"


# Categories ------------------------------------------------------------------------


def test_anyone_lists_the_categories_without_signing_in(client: FlaskClient) -> None:
    answer = client.get(f"{API}/categories")
    assert answer.status_code == 200
    assert answer.json == [
        {"code": "kebersihan", "name": "Kebersihan", "agency": "batam.dlh", "form": None},
        {"code": "kesehatan", "name": "Kesehatan", "agency": "batam.dinkes", "form": None},
        {"code": "lainnya", "name": "Lainnya", "agency": None, "form": None},
        {"code": "parkir", "name": "Parkir", "agency": "batam.dishub", "form": demo.CATEGORY_FORMS["parkir"]},
    ]


def test_an_admin_creates_a_category_routed_to_an_agency(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(f"{API}/categories", json=NEW_CATEGORY, headers=auth("admin"))
    assert answer.status_code == 201
    assert answer.json == {**NEW_CATEGORY, "form": None}
    assert {**NEW_CATEGORY, "form": None} in client.get(f"{API}/categories").json


def test_a_category_without_an_agency_leaves_routing_to_the_verifier(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(f"{API}/categories", json={"code": "umum", "name": "Umum"}, headers=auth("admin"))
    assert answer.status_code == 201
    assert answer.json == {"code": "umum", "name": "Umum", "agency": None, "form": None}


def test_a_category_form_is_a_json_schema_of_an_object(client: FlaskClient, auth: Auth) -> None:
    form = {"type": "object", "properties": {"ruas": {"type": "string", "title": "Ruas jalan"}}}
    answer = client.post(f"{API}/categories", json={**NEW_CATEGORY, "form": form}, headers=auth("admin"))
    assert answer.status_code == 201 and answer.json["form"] == form
    bad = client.post(
        f"{API}/categories", json={"code": "x", "name": "X", "form": {"type": "string"}}, headers=auth("admin")
    )
    assert bad.status_code == 422 and "form" in bad.json["errors"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "Jalan Rusak"}, "code"),
        ({"code": "j" * 65}, "code"),
        ({"code": ""}, "code"),
        ({"code": "jalan\n"}, "code"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"agency": "batam.nowhere"}, "agency"),
    ],
    ids=["spaces", "long-code", "empty-code", "trailing-newline", "empty-name", "long-name", "unknown-agency"],
)
def test_a_bad_category_is_422_naming_the_field_and_stores_nothing(
    client: FlaskClient, auth: Auth, changes: dict[str, Any], field: str
) -> None:
    body = {**NEW_CATEGORY, **changes}
    answer = client.post(f"{API}/categories", json=body, headers=auth("admin"))
    assert answer.status_code == 422
    assert field in answer.json["errors"]
    assert not stored(Category, body["code"])


def test_a_duplicate_category_is_422_and_keeps_the_existing_route(client: FlaskClient, auth: Auth) -> None:
    body = {"code": "parkir", "name": "Parkir", "agency": "batam.dlh"}
    answer = client.post(f"{API}/categories", json=body, headers=auth("admin"))
    assert answer.status_code == 422
    assert "code" in answer.json["errors"]
    with Session(db.engine) as fresh:
        assert fresh.get_one(Category, "parkir").agency == "batam.dishub"


# Working-day calendar -----------------------------------------------------------------


def holidays(client: FlaskClient, headers: dict[str, str], year: int = 2026) -> list[dict[str, str]]:
    answer = client.get(f"{API}/calendar/holidays?year={year}", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def test_staff_see_a_years_public_holidays_and_collective_leave_by_date(client: FlaskClient, auth: Auth) -> None:
    days = holidays(client, auth("dlh"))
    assert {"day": "2026-08-17", "name": "Independence Day", "source": "public"} in days
    assert {"day": "2026-12-24", "name": "Christmas Joint Holiday", "source": "collective_leave"} in days
    assert {"day": "2026-12-25", "name": "Christmas Day", "source": "public"} in days
    assert [day["day"] for day in days] == sorted(day["day"] for day in days)
    assert all(day["day"].startswith("2026-") for day in days)


def test_the_holiday_list_defaults_to_the_current_year(client: FlaskClient, auth: Auth) -> None:
    with time_machine.travel(date(2027, 6, 1), tick=False):
        answer = client.get(f"{API}/calendar/holidays", headers=auth("dlh"))
    assert answer.status_code == 200
    assert {day["day"][:4] for day in answer.json} == {"2027"}


def test_an_admin_configures_a_regional_holiday(client: FlaskClient, auth: Auth) -> None:
    headers = auth("admin")
    answer = client.post(f"{API}/calendar/holidays", json=NEW_DAY, headers=headers)
    assert answer.status_code == 201
    assert answer.json == NEW_DAY
    assert {"day": "2026-12-18", "name": "Hari Jadi Kota Batam", "source": "configured"} in holidays(client, headers)


def test_a_configured_working_day_replaces_the_day_off_it_falls_on(client: FlaskClient, auth: Auth) -> None:
    headers = auth("admin")
    body = {"day": "2026-12-24", "kind": "working", "name": "Masuk kerja"}
    assert client.post(f"{API}/calendar/holidays", json=body, headers=headers).status_code == 201
    on_that_day = [day for day in holidays(client, headers) if day["day"] == "2026-12-24"]
    assert on_that_day == [{"day": "2026-12-24", "name": "Masuk kerja", "source": "working_day"}]


def test_a_working_saturday_is_listed(client: FlaskClient, auth: Auth) -> None:
    headers = auth("admin")
    body = {"day": "2026-03-28", "kind": "working", "name": "Sabtu pengganti"}
    client.post(f"{API}/calendar/holidays", json=body, headers=headers)
    assert {"day": "2026-03-28", "name": "Sabtu pengganti", "source": "working_day"} in holidays(client, headers)


def test_configuring_a_day_again_replaces_its_setting(client: FlaskClient, auth: Auth) -> None:
    headers = auth("admin")
    client.post(f"{API}/calendar/holidays", json=NEW_DAY, headers=headers)
    again = {"day": "2026-12-18", "kind": "working", "name": "Masuk kerja"}
    assert client.post(f"{API}/calendar/holidays", json=again, headers=headers).status_code == 201
    with Session(db.engine) as fresh:
        row = fresh.get_one(CalendarDay, date(2026, 12, 18))
        assert (row.kind, row.name) == ("working", "Masuk kerja")


def test_configured_days_of_other_years_are_not_listed(client: FlaskClient, auth: Auth) -> None:
    headers = auth("admin")
    client.post(f"{API}/calendar/holidays", json=NEW_DAY, headers=headers)
    client.post(f"{API}/calendar/holidays", json={**NEW_DAY, "kind": "working", "day": "2026-03-28"}, headers=headers)
    assert {"configured", "working_day"}.isdisjoint(day["source"] for day in holidays(client, headers, 2027))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"day": "2026-02-30"}, "day"),
        ({"day": "18/12/2026"}, "day"),
        ({"day": None}, "day"),
        ({"day": "1597-03-28"}, "day"),
        ({"kind": "vacation"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
    ],
    ids=["no-such-date", "not-iso", "null-day", "out-of-range", "unknown-kind", "empty-name", "long-name"],
)
def test_a_bad_calendar_day_is_422_naming_the_field_and_stores_nothing(
    client: FlaskClient, auth: Auth, changes: dict[str, Any], field: str
) -> None:
    answer = client.post(f"{API}/calendar/holidays", json={**NEW_DAY, **changes}, headers=auth("admin"))
    assert answer.status_code == 422
    assert field in answer.json["errors"]
    with Session(db.engine) as fresh:
        assert fresh.query(CalendarDay).count() == 0


@pytest.mark.parametrize(("query", "field"), [("year=1900", "year"), ("year=next", "year"), ("month=1", "month")])
def test_a_bad_holiday_query_is_422_naming_it(client: FlaskClient, auth: Auth, query: str, field: str) -> None:
    answer = client.get(f"{API}/calendar/holidays?{query}", headers=auth("dlh"))
    assert answer.status_code == 422
    assert field in answer.json["errors"]
