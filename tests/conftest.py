"""Fixtures: the app on each backend (SQLite always; PostgreSQL when reachable), clean tables per test.

PostgreSQL is skipped, visibly, when the server cannot be reached; CI sets ADUAN_REQUIRE_POSTGRES=1 so
that a missing server fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from api import create_app
from api.extensions import db
from engine.db import Base
from engine.directory import demo

# The bound on password checks at once is host-wide (engine/directory/signin.py): every app the tests start
# (xdist workers, live servers, subprocesses) would share one slot; tests of the bound set their own.
os.environ.setdefault("ADUAN_PASSWORD_CHECK_CONCURRENCY", "64")
BASE_POSTGRES_URL = os.environ.get("ADUAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _worker_url(base: str, worker: str | None) -> str:
    """One database per pytest-xdist worker (`test_gw0`, `test_gw1`, …); the base database without xdist."""
    if not worker:
        return base
    url = sa.make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_url(BASE_POSTGRES_URL, os.environ.get("PYTEST_XDIST_WORKER"))
DEMO_PASSWORD = "rahasia-demo-1"


def _create_database(url: str) -> None:
    """Create the worker's database when it is missing (through the server's `postgres` database)."""
    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if exists.first() is None:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def _postgres_available() -> str | None:
    try:
        if POSTGRES_URL != BASE_POSTGRES_URL:
            _create_database(POSTGRES_URL)
        with sa.create_engine(POSTGRES_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return None
    except Exception as exc:  # any failure to connect means: not here
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"


def _reset_postgres() -> None:
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Argon2 with its cheapest parameters: the tests sign in often; production keeps the defaults."""
    from argon2 import PasswordHasher

    from engine.directory import users

    default = users.HASHER
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users.HASHER = default


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database URL per backend (migrations run once per session, like `aduan db upgrade`)."""
    if request.param == "postgresql":
        reason = _postgres_available()
        if reason:
            if os.environ.get("ADUAN_REQUIRE_POSTGRES"):
                pytest.fail(reason)
            pytest.skip(reason)
        _reset_postgres()
        url = POSTGRES_URL
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "aduan.sqlite3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield url


@contextmanager
def append_only_suspended(session: Session) -> Iterator[None]:
    """Let the enclosed statements change the audit tables, as a database owner could; the caller commits.

    PostgreSQL: triggers off for this transaction (`session_replication_role`, superuser only). SQLite:
    the triggers are dropped and created again from their own SQL, all inside the transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        yield
        return
    tables = "('event', 'read_log', 'message')"
    query = f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN {tables}"
    triggers = session.execute(sa.text(query)).all()
    for name, _sql in triggers:
        session.execute(sa.text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in triggers:
        session.execute(sa.text(sql))


def _truncate(session: Session) -> None:
    """Empty every table of this worker's database before a test.

    PostgreSQL: a test that failed can leave a session with an open transaction behind (its traceback keeps
    the session alive), whose locks would hold this TRUNCATE, and every later test of the worker, for ever.
    So the TRUNCATE waits 10 s at most; then such leftover transactions of this database (this worker's
    own) are ended and it runs again."""
    try:
        _truncate_once(session, lock_timeout="10s")
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        session.rollback()
        session.execute(sa.text(LEFTOVERS))
        session.commit()
        _truncate_once(session)


LEFTOVERS = """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"""


def _truncate_once(session: Session, lock_timeout: str | None = None) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with append_only_suspended(session):
        if session.get_bind().dialect.name == "postgresql":
            if lock_timeout:
                session.execute(sa.text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            names = ", ".join(t.name for t in tables)
            session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                session.execute(table.delete())
    session.commit()


@pytest.fixture
def app(backend: str, tmp_path: Path) -> Iterator[Flask]:
    # generous limits: tests sign in and file complaints often; the limits themselves are tested explicitly
    limits = {
        "LOGIN_RATE_LIMIT": "100000/minute", "INTAKE_RATE_LIMIT": "100000/minute",
        "UPLOAD_RATE_LIMIT": "100000/minute", "UPLOAD_CASE_RATE_LIMIT": "100000/minute",
        # the host-wide bound on password checks is shared by the xdist workers: tests sign in all the time
        "PASSWORD_CHECK_CONCURRENCY": 64,
    }  # fmt: skip
    app = create_app({"SQLALCHEMY_DATABASE_URI": backend, "TESTING": True, **limits})
    with app.app_context():
        _truncate(db.session)
        yield app
        db.session.remove()
        db.engine.dispose()


@contextmanager
def seeded(app: Flask) -> Iterator[Flask]:
    """`app`'s context on an emptied database holding the demo directory; its connections closed after."""
    with app.app_context():
        _truncate(db.session)
        demo.seed(db.session(), DEMO_PASSWORD)
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Session:
    return db.session()


@pytest.fixture
def demo_directory(session: Session) -> None:
    """The demo directory of design.md (agencies, categories, users) and the shipped default process."""
    demo.seed(session, DEMO_PASSWORD)
    session.commit()
