"""Declarative base and column types shared by every persisted concept.

The engine uses plain SQLAlchemy (no Flask): the API binds the same metadata to Flask-SQLAlchemy, so
`engine` functions take a `Session` and can run in a worker, a CLI command or a test alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every Aduan table."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores naive UTC, PostgreSQL `timestamptz`)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType: sa.types.TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time, aware, in UTC (time-machine moves it in tests)."""
    return datetime.now(UTC)


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, WAL for concurrent readers, and wait for a busy writer."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def normalize_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def insert_together(session: Any, statements: list[sa.Insert]) -> list[int]:
    """Run independent INSERTs (upserts too); returns the `id` of each row the last one wrote, in order.

    PostgreSQL: one statement (each earlier INSERT a data-modifying CTE), so a command's children cost one
    round trip. SQLite has no data-modifying CTEs: one statement each there (in-process calls).
    The statements must not depend on each other (in PostgreSQL they all see the same snapshot).
    """
    if not statements:
        return []
    *earlier, last = statements
    last = last.returning(last.table.c.id)
    if session.get_bind().dialect.name != "postgresql":
        for stmt in earlier:
            session.execute(stmt)
        return list(session.scalars(last))
    for n, stmt in enumerate(earlier):
        last = last.add_cte(stmt.cte(f"w{n}"))
    return list(session.scalars(last))
