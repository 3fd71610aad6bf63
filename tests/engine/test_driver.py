"""engine.driver: every connection's driver settings; psycopg's descriptions built once per result shape."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engine import driver
from tests.conftest import POSTGRES_URL, _postgres_available


@pytest.fixture
def postgres() -> Iterator[sa.Engine]:
    reason = _postgres_available()
    if reason:
        if os.environ.get("ADUAN_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)
    engine = sa.create_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


def _fields(description: list[Any] | None) -> list[tuple[Any, ...]] | None:
    """Everything DB-API says of each column (name, type code, sizes, precision, scale, nullability)."""
    return None if description is None else [tuple(column) for column in description]


def test_postgres_connections_get_the_described_cursor(postgres: sa.Engine) -> None:
    with postgres.connect() as conn:
        assert type(conn.connection.dbapi_connection.cursor()) is driver.DescribedCursor  # type: ignore[union-attr]


def test_a_cursor_class_given_by_the_application_is_kept() -> None:
    psycopg = pytest.importorskip("psycopg")
    if _postgres_available():
        pytest.skip("PostgreSQL not reachable")
    engine = sa.create_engine(POSTGRES_URL, connect_args={"cursor_factory": psycopg.ClientCursor})
    try:
        with engine.connect() as conn:
            assert type(conn.connection.dbapi_connection.cursor()) is psycopg.ClientCursor  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_the_columns_are_psycopg_s_own_and_built_once_per_shape(postgres: sa.Engine) -> None:
    import psycopg

    query = "SELECT 1::int AS n, 'a'::varchar(7) AS v, 2.5::numeric(6, 2) AS d, now() AS t, NULL::bytea AS b"
    with postgres.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        plain = psycopg.Cursor(dbapi)  # type: ignore[arg-type]
        plain.execute(query)
        ours = dbapi.cursor()  # type: ignore[union-attr]
        ours.execute(query)
        first = ours.description
        assert _fields(first) == _fields(plain.description)
        again = dbapi.cursor()  # type: ignore[union-attr]
        again.execute(query)
        second = again.description
        assert _fields(second) == _fields(first)
        assert second is not first  # a list of its own: a caller changing it changes no one else's
        assert all(a is b for a, b in zip(first or [], second or [], strict=True))  # not built again


def test_a_shape_that_changed_under_the_same_text_is_described_anew(postgres: sa.Engine) -> None:
    query = "SELECT * FROM described_probe"
    with postgres.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        cursor = dbapi.cursor()  # type: ignore[union-attr]
        cursor.execute("CREATE TEMPORARY TABLE described_probe (a int)")
        cursor.execute(query)
        assert [(c.name, c.type_code) for c in cursor.description] == [("a", 23)]
        cursor.execute("ALTER TABLE described_probe RENAME COLUMN a TO b")
        cursor.execute(query)
        assert [(c.name, c.type_code) for c in cursor.description] == [("b", 23)]
        cursor.execute("ALTER TABLE described_probe ALTER COLUMN b TYPE text")
        cursor.execute(query)
        assert [(c.name, c.type_code) for c in cursor.description] == [("b", 25)]
        conn.rollback()


def test_results_without_columns_are_described_as_psycopg_describes_them(postgres: sa.Engine) -> None:
    with postgres.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SET LOCAL statement_timeout = 0")
        assert cursor.description is None
        cursor.execute("SELECT")  # rows of no columns
        assert cursor.description == []
        conn.rollback()


def test_text_results_are_matched_by_the_names_they_came_with(postgres: sa.Engine) -> None:
    """SQLAlchemy matches a text statement's columns by the names in `description`: two results of the same
    types in another order are two shapes, each read by its own names."""
    with postgres.connect() as conn:
        first = conn.execute(sa.text("SELECT 1 AS a, 2 AS b")).one()._mapping
        second = conn.execute(sa.text("SELECT 2 AS b, 1 AS a")).one()._mapping
        assert (first["a"], first["b"]) == (1, 2) == (second["a"], second["b"])
