"""Declarative base and column types shared by every persisted concept.

The engine uses plain SQLAlchemy (no Flask): the API binds the same metadata to Flask-SQLAlchemy, so
`engine` functions take a `Session` and can run in a worker, a CLI command or a test alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
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


class HexDigest(sa.types.TypeDecorator[str]):
    """A SHA-256 digest that Python handles as 64 hex characters: `bytea` (32 bytes) on PostgreSQL, where
    every event and every version of a case row carries one or two (migration h21_storage); hex text on SQLite."""

    impl = sa.String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(postgresql.BYTEA() if dialect.name == "postgresql" else sa.String(64))

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> Any:
        return bytes.fromhex(value) if value is not None and dialect.name == "postgresql" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> str | None:
        return value.hex() if isinstance(value, bytes | memoryview) else value


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


# full-text search of engine.places.matching: SQLite's FTS5 table (and its shadow tables), PostgreSQL's GIN index
UNMODELLED_PREFIXES = ("complaint_fts", "ix_complaint_fts", "ix_complaint_stats")


def modelled(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name`: what the migrations create outside the models is not compared with them."""
    return not (name is not None and name.startswith(UNMODELLED_PREFIXES))


def on_backend(dialect: str) -> Callable[..., bool]:
    """Alembic `include_object` for a database of `dialect`: an index the models declare for other backends
    only (`Index(…).ddl_if(dialect=…)`, e.g. SQLite's hot-spot index, which PostgreSQL's covering stats index
    replaces) is not expected there."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        condition = getattr(obj, "_ddl_if", None) if type_ == "index" and not reflected else None
        if condition is None or condition.dialect is None:
            return True
        wanted = condition.dialect
        return dialect == wanted if isinstance(wanted, str) else dialect in wanted

    return include


def written(session: Any, obj: Any) -> None:
    """Mark a persistent object as its row now stands, after a Core statement wrote its changed values: no
    history left, so the session has nothing to flush (as after an ORM flush; an object left "modified"
    made every later autoflush and the commit walk the unit of work for nothing)."""
    state = sa.inspect(obj)
    state._commit_all(state.dict, session.identity_map)  # what the ORM's own flush does after writing a row


def table(entity: Any) -> sa.Table:
    """The table of a mapped class."""
    found: sa.Table = entity.__table__
    return found


@dataclass(frozen=True)
class Batch:
    """Rows for one table as one INSERT (`suffix`: e.g. an ON CONFLICT clause) and its parameters' values;
    with `rows` 0, `suffix` is a whole statement of its own (an UPDATE, see `update_where`)."""

    table: sa.Table
    columns: tuple[str, ...]
    rows: int
    name: str  # prefix of the parameter names: `<name>_<row>_<column>`
    suffix: str
    params: dict[str, Any]

    @property
    def shape(self) -> tuple[sa.Table, tuple[str, ...], int, str, str]:
        return self.table, self.columns, self.rows, self.name, self.suffix


def insert_rows(table: sa.Table, rows: list[dict[str, Any]], name: str, suffix: str = "") -> Batch:
    """A multi-row INSERT whose SQL text depends only on its shape (table, columns, number of rows), so it is
    built and compiled once per shape: a multi-row `insert().values([...])` is never cached by SQLAlchemy,
    and compiling it cost more than the rest of the write."""
    columns = tuple(rows[0])
    params = {f"{name}_{i}_{c}": row[c] for i, row in enumerate(rows) for c in columns}
    return Batch(table, columns, len(rows), name, suffix, params)


def update_where(table: sa.Table, sql: str, params: dict[str, Any], name: str) -> Batch:
    """Another data-modifying statement (an UPDATE) to run with a command's INSERTs: `sql` names each
    parameter `:<name>_<column>`, typed as that column of `table`. It must not be the last of the batches
    (`insert_together` returns the ids the last one inserted)."""
    columns = tuple(sorted(key.removeprefix(f"{name}_") for key in params))
    return Batch(table, columns, 0, name, sql, params)


Shape = tuple[sa.Table, tuple[str, ...], int, str, str]


def _sql(shape: Shape) -> tuple[str, list[sa.BindParameter[Any]]]:
    table, columns, rows, name, suffix = shape
    if rows == 0:
        return suffix, [sa.bindparam(f"{name}_{c}", type_=table.c[c].type) for c in columns]
    values = ", ".join("(" + ", ".join(f":{name}_{i}_{c}" for c in columns) + ")" for i in range(rows))
    typed = [sa.bindparam(f"{name}_{i}_{c}", type_=table.c[c].type) for i in range(rows) for c in columns]
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {values}{suffix}", typed


@functools.lru_cache(maxsize=512)
def _statement(shapes: tuple[Shape, ...], returning: bool) -> sa.TextClause:
    """One statement for the shapes: the last INSERT, the others as data-modifying CTEs before it."""
    parts = [_sql(shape) for shape in shapes]
    *earlier, (last, _) = parts
    ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(earlier))
    text = (f"WITH {ctes} " if ctes else "") + last + (" RETURNING id" if returning else "")
    return sa.text(text).bindparams(*(p for _, typed in parts for p in typed))


def insert_together(session: Any, batches: list[Batch]) -> list[int]:
    """Run independent INSERTs (upserts too); returns the `id` of each row the last one wrote, in order.

    PostgreSQL: one statement (each earlier INSERT a data-modifying CTE), so a command's children cost one
    round trip. SQLite has no data-modifying CTEs: one statement each there (in-process calls).
    The statements must not depend on each other (in PostgreSQL they all see the same snapshot).
    """
    if not batches:
        return []
    *earlier, last = batches
    session.flush()  # what the ORM's autoflush would write first (usually nothing: a no-op on a clean session)
    conn = session.connection()  # Core: the ORM's execution around a text statement cost more than its write
    if conn.dialect.name != "postgresql":
        for batch in earlier:
            conn.execute(_statement((batch.shape,), False), batch.params)
        return list(conn.execute(_statement((last.shape,), True), last.params).scalars())
    params = {k: v for batch in batches for k, v in batch.params.items()}
    return list(conn.execute(_statement(tuple(b.shape for b in batches), True), params).scalars())
