"""Specification of the `aduan users create` and `aduan seed demo` commands."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from sqlalchemy.orm import Session

from api.extensions import db
from engine.directory import demo
from engine.directory.agencies import Agency
from engine.directory.categories import Category
from engine.directory.users import User
from engine.processes import registry as processes
from engine.processes.registry import ProcessVersion
from tests.api.conftest import API
from tests.conftest import DEMO_PASSWORD


def aduan(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def signs_in(app: Flask, username: str, password: str) -> bool:
    answer = app.test_client().post(f"{API}/auth/token", json={"username": username, "password": password})
    return answer.status_code == 200


def count(model: type[object]) -> int:
    with Session(db.engine) as fresh:
        return fresh.scalar(sa.select(sa.func.count()).select_from(model)) or 0


# users create ----------------------------------------------------------------------


def test_users_create_adds_a_user_who_can_sign_in(app: Flask, demo_directory: None) -> None:
    result = aduan(
        app, "users", "create", "dlh.2", "--role", "officer", "--agency", "batam.dlh", "--password", "kata-sandi-1",
        "--name", "Siti", "--email", "siti@batam.go.id",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "user dlh.2 created" in result.output
    with Session(db.engine) as fresh:
        user = fresh.get_one(User, "dlh.2")
        assert (user.role, user.agency, user.name, user.email) == ("officer", "batam.dlh", "Siti", "siti@batam.go.id")
    assert signs_in(app, "dlh.2", "kata-sandi-1")


def test_users_create_asks_for_the_password_when_it_is_not_given(app: Flask, demo_directory: None) -> None:
    result = aduan(app, "users", "create", "admin.2", "--role", "admin", input="kata-sandi-1\nkata-sandi-1\n")
    assert result.exit_code == 0, result.output
    assert "kata-sandi-1" not in result.output
    assert signs_in(app, "admin.2", "kata-sandi-1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--role", "officer", "--agency", "batam.nowhere"], "agency: no agency 'batam.nowhere'"),
        (["--role", "officer"], "agency: required for the officer role"),
        (["--role", "admin", "--password", "short"], "password: 8 to 200 characters"),
    ],
    ids=["unknown-agency", "officer-without-agency", "short-password"],
)
def test_users_create_reports_a_bad_user_as_a_clean_error_and_stores_nothing(
    app: Flask, demo_directory: None, options: list[str], message: str
) -> None:
    options = options if "--password" in options else [*options, "--password", "kata-sandi-1"]
    result = aduan(app, "users", "create", "siti", *options)
    assert result.exit_code == 1
    assert result.output.startswith("Error: invalid user")
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(User) == len(demo.USERS)


def test_users_create_refuses_a_taken_username(app: Flask, demo_directory: None) -> None:
    result = aduan(app, "users", "create", "dlh", "--role", "admin", "--password", "kata-sandi-1")
    assert result.exit_code == 1
    assert "username: 'dlh' is taken" in result.output
    assert signs_in(app, "dlh", DEMO_PASSWORD)


def test_users_create_refuses_an_unknown_role(app: Flask, demo_directory: None) -> None:
    result = aduan(app, "users", "create", "siti", "--role", "king", "--password", "kata-sandi-1")
    assert result.exit_code == 2
    assert "'king' is not one of" in result.output
    assert count(User) == len(demo.USERS)


# seed demo -----------------------------------------------------------------------------


def test_seed_demo_creates_the_demo_directory_and_every_demo_user_signs_in(app: Flask) -> None:
    result = aduan(app, "seed", "demo", "--password", DEMO_PASSWORD)
    assert result.exit_code == 0, result.output
    assert "agencies: batam, batam.diskominfo" in result.output
    assert (count(Agency), count(Category), count(User)) == (len(demo.AGENCIES), len(demo.CATEGORIES), len(demo.USERS))
    with Session(db.engine) as fresh:
        assert processes.active_version(fresh, processes.DEFAULT_KEY) is not None
    for username, _role, _agency in demo.USERS:
        assert signs_in(app, username, DEMO_PASSWORD), username


def test_seeding_the_demo_twice_changes_nothing(app: Flask) -> None:
    aduan(app, "seed", "demo", "--password", DEMO_PASSWORD)
    deployed = count(ProcessVersion)
    again = aduan(app, "seed", "demo", "--password", "another-password")
    assert again.exit_code == 0, again.output
    assert "agencies: all present" in again.output
    assert "users: all present" in again.output
    assert (count(Agency), count(Category), count(User)) == (len(demo.AGENCIES), len(demo.CATEGORIES), len(demo.USERS))
    assert count(ProcessVersion) == deployed
    assert signs_in(app, "admin", DEMO_PASSWORD)
    assert not signs_in(app, "admin", "another-password")


def test_seeding_completes_a_partial_demo_directory(app: Flask, session: Session) -> None:
    from engine.directory.agencies import create_agency

    create_agency(session, "batam", "Kota Batam")
    session.commit()
    result = aduan(app, "seed", "demo", "--password", DEMO_PASSWORD)
    assert result.exit_code == 0, result.output
    assert "agencies: batam.diskominfo," in result.output
    assert count(Agency) == len(demo.AGENCIES)
    with Session(db.engine) as fresh:
        assert fresh.get_one(Agency, "batam").name == "Kota Batam"


def test_seed_demo_with_a_short_password_fails_cleanly_and_stores_nothing(app: Flask) -> None:
    result = aduan(app, "seed", "demo", "--password", "short")
    assert result.exit_code == 1
    assert "password: 8 to 200 characters" in result.output
    assert (count(Agency), count(Category), count(User), count(ProcessVersion)) == (0, 0, 0, 0)


# stats refresh ---------------------------------------------------------------------


def test_stats_refresh_builds_a_snapshot_on_postgresql_and_says_why_not_on_sqlite(app: Flask) -> None:
    from engine.stats.rollup import StatsSnapshot

    result = aduan(app, "stats", "refresh")
    if db.engine.dialect.name == "postgresql":
        assert result.exit_code == 0, result.output
        assert result.output.startswith("snapshot 1 in ") and count(StatsSnapshot) == 1
    else:
        assert result.exit_code == 1 and "PostgreSQL only" in result.output
        assert count(StatsSnapshot) == 0
