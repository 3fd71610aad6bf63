"""Declarative base and column types shared by every persisted concept.

The engine uses plain SQLAlchemy (no Flask): the API binds the same metadata to Flask-SQLAlchemy, so
`engine` functions take a `Session` and can run in a worker, a CLI command or a test alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase

import engine.driver  # noqa: F401  # each connection's driver settings (SQLite pragmas, psycopg tunings)

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


def normalize_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


CHECKED_AT_COMMIT = ("event", "task", "message", "follow_up", "outbox")  # migration h26_deferred_checks


def case_reference() -> sa.ForeignKey:
    """The foreign key to its case of a row a command writes with the case (`CHECKED_AT_COMMIT`): checked at
    COMMIT, not at the end of the command's one write statement (`write_with_children`). PostgreSQL only:
    SQLite, which writes a command's rows one statement at a time, keeps immediate checks (`on_backend`)."""
    return sa.ForeignKey("complaint.id", deferrable=True, initially="DEFERRED")


# full-text search of engine.places.matching: SQLite's FTS5 table (and its shadow tables), PostgreSQL's GIN index
UNMODELLED_PREFIXES = ("complaint_fts", "ix_complaint_fts", "ix_complaint_stats")


def modelled(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name`: what the migrations create outside the models is not compared with them."""
    return not (name is not None and name.startswith(UNMODELLED_PREFIXES))


def on_backend(dialect: str) -> Callable[..., bool]:
    """Alembic `include_object` for a database of `dialect`: the foreign keys `case_reference` declares
    deferred are compared on PostgreSQL only; an index the models declare for other backends
    only (`Index(…).ddl_if(dialect=…)`, e.g. SQLite's hot-spot index, which PostgreSQL's covering stats index
    replaces) is not expected there."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "foreign_key_constraint" and dialect != "postgresql" and obj.table.name in CHECKED_AT_COMMIT:
            return False  # checked at COMMIT on PostgreSQL only (tests/api/test_migrations.py checks both)
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
    (`write_with_children` returns the ids the last one inserted)."""
    columns = tuple(sorted(key.removeprefix(f"{name}_") for key in params))
    return Batch(table, columns, 0, name, sql, params)


Shape = tuple[sa.Table, tuple[str, ...], int, str, str]

LINKED = "case_id"  # the column of a child row that names its head row (`write_with_children`, `linked`)


HEAD = "wh"  # the head row's CTE in `_headed`: a new case's children read their `case_id` from it


def _sql(shape: Shape, linked: bool = False) -> tuple[str, list[sa.BindParameter[Any]]]:
    """SQL text and typed parameters of one batch; `linked`: its `case_id` values are the head row's id."""
    table, columns, rows, name, suffix = shape
    if rows == 0:
        return suffix, [sa.bindparam(f"{name}_{c}", type_=table.c[c].type) for c in columns]
    tied = linked and LINKED in columns

    def value(i: int, c: str) -> str:
        return f"(SELECT id FROM {HEAD})" if tied and c == LINKED else f":{name}_{i}_{c}"

    values = ", ".join("(" + ", ".join(value(i, c) for c in columns) + ")" for i in range(rows))
    typed = [
        sa.bindparam(f"{name}_{i}_{c}", type_=table.c[c].type)
        for i in range(rows)
        for c in columns
        if not (tied and c == LINKED)
    ]
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {values}{suffix}", typed


@functools.lru_cache(maxsize=512)
def _statement(shapes: tuple[Shape, ...], returning: bool) -> sa.TextClause:
    """One statement for the shapes: the last INSERT, the others as data-modifying CTEs before it (SQLite
    gets one shape at a time). The statements must not depend on each other (they see the same snapshot)."""
    parts = [_sql(shape) for shape in shapes]
    *earlier, (last, _) = parts
    ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(earlier))
    text = (f"WITH {ctes} " if ctes else "") + last + (" RETURNING id" if returning else "")
    return sa.text(text).bindparams(*(p for _, typed in parts for p in typed))


@functools.lru_cache(maxsize=512)
def _headed(head: Shape, shapes: tuple[Shape, ...], linked: bool) -> sa.TextClause:
    """PostgreSQL: a head row and its children in one statement. The head is the CTE `wh`, read first by the
    answer, so it is written (and its row locked) before any child; the children are CTEs after it. The answer
    is one row: the head's id (NULL when its UPDATE matched no row) and the ids the last child inserted, in
    the order of its rows (ids from one sequence in one statement rise with the rows)."""
    head_sql, head_typed = _sql(head)
    parts = [_sql(shape, linked) for shape in shapes]
    ctes = [f"{HEAD} AS ({head_sql} RETURNING id)"] + [f"w{n} AS ({sql})" for n, (sql, _) in enumerate(parts)]
    ctes[-1] = ctes[-1][:-1] + " RETURNING id)"
    last = f"w{len(parts) - 1}"
    text = f"WITH {', '.join(ctes)} SELECT (SELECT id FROM {HEAD}), ARRAY(SELECT id FROM {last} ORDER BY id)"
    return sa.text(text).bindparams(*head_typed, *(p for _, typed in parts for p in typed))


def _one_by_one(conn: Any, batches: list[Batch]) -> list[int]:
    """SQLite: each batch its own statement; returns the `id` of each row the last one wrote, in order."""
    if not batches:
        return []
    *earlier, last = batches
    for batch in earlier:
        first_column(conn, _statement((batch.shape,), False), batch.params)
    return first_column(conn, _statement((last.shape,), True), last.params)


def write_with_children(session: Any, head: Batch, batches: list[Batch], linked: bool) -> tuple[int | None, list[int]]:
    """Write one head row (an INSERT, or an UPDATE whose SQL ends before `RETURNING`), then its children;
    returns the head row's id (None when the UPDATE matched no row: the caller rolls back) and the ids the
    last child inserted. `linked`: the head is a new row and the children's `case_id` is its id.

    PostgreSQL: all of it one statement, one round trip (`_headed`: the head first, so the case row is locked
    before any child). The children's foreign keys to the case are checked at COMMIT (migration
    h26_deferred_checks): checked at the end of this statement, they read the case's page while the statement
    still held it pinned, PostgreSQL could not prune the case's dead row versions then, and the next new case
    found no room on the page: the complaint heap as written doubled (docs/performance.md, issue 14, fourth
    and tenth passes). SQLite has no data-modifying CTEs: one statement each, the head first (in-process
    calls, not round trips)."""
    if not batches or batches[-1].rows == 0:
        raise ValueError("the last child must be an INSERT (its ids are returned)")
    if len({head.name, *(b.name for b in batches)}) != len(batches) + 1:
        raise ValueError("each batch needs a name of its own (its parameters are named after it)")
    session.flush()  # what the ORM's autoflush would write first (usually nothing: a no-op on a clean session)
    conn = session.connection()  # Core: the ORM's execution around a text statement cost more than its write
    if conn.dialect.name == "postgresql":
        params = {k: v for batch in (head, *batches) for k, v in batch.params.items()}
        shapes = tuple(b.shape for b in batches)
        [(head_id, ids)] = rows_of(conn, _headed(head.shape, shapes, linked), params)
        return head_id, list(ids) if head_id is not None else []
    head_id, batches = head_first(conn, head, batches, linked)
    return (head_id, _one_by_one(conn, batches)) if head_id is not None else (None, [])


def head_first(conn: Any, head: Batch, batches: list[Batch], linked: bool) -> tuple[int | None, list[Batch]]:
    """The head row written by a statement of its own; its id (None when its UPDATE matched no row) and the
    children's batches, their `case_id` set to that id when `linked` (SQLite's write, and the two-statement
    write `aduan bench driver-ab --compare one-write` measures)."""
    found = first_column(conn, _returning(head.shape), head.params)
    if not found:
        return None, batches
    return found[0], [_linked_to(batch, found[0]) for batch in batches] if linked else batches


@dataclass(frozen=True)
class _DriverForm:
    """A statement as the database driver takes it: its text in the driver's parameter style, the order of
    its parameters (positional styles: SQLite's `?`), and the conversion of each value SQLAlchemy would do."""

    sql: str
    order: tuple[str, ...] | None
    processors: dict[str, Callable[[Any], Any]]


@functools.lru_cache(maxsize=512)
def _driver_form(clause: sa.TextClause, dialect: sa.Dialect) -> _DriverForm:
    compiled = clause.compile(dialect=dialect)
    if compiled.escaped_bind_names:  # never for the names `insert_rows` and `update_where` make
        raise ValueError("a parameter name the driver cannot take as written")
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup is not None else None
    processors = cast(dict[str, Callable[[Any], Any]], dict(compiled._bind_processors))  # no expanding (tuple) types
    return _DriverForm(compiled.string, order, processors)


def first_column(conn: sa.Connection, clause: sa.TextClause, params: dict[str, Any]) -> list[Any]:
    """`rows_of`, the first column of each row (unconverted: ids, text)."""
    return [row[0] for row in rows_of(conn, clause, params)]


def rows_of(conn: sa.Connection, clause: sa.TextClause, params: dict[str, Any]) -> list[Any]:
    """Run a hot-path text statement (a command's writes, its configuration-token read) on the driver's
    cursor; the rows it returns, as the driver gives them (unconverted: ids, text, arrays).

    What `conn.execute(clause, params)` does for a cached text statement, less its layers: the compiled text,
    parameter order and value conversions (UTC datetimes, JSON, digests) come from SQLAlchemy once per
    statement shape, the values are converted as SQLAlchemy converts them, the engine's `before_cursor_execute`
    listeners still see the statement (the statement-count tests and benches listen there), and a driver error
    is raised as SQLAlchemy raises it (`IntegrityError`, `OperationalError`, …, the connection invalidated when
    it was lost), so the command's `transaction` handles it alike. Not kept: `after_cursor_execute` listeners
    and the engine's `echo` log do not see these statements (nothing of Aduan's uses either). Through
    `conn.execute`, a command cost 0.3-0.4 ms more client CPU on PostgreSQL (its write then two statements with
    20-60 parameters; docs/performance.md, issue 14, seventh pass)."""
    form = _driver_form(clause, conn.dialect)
    processors = form.processors
    values: Any = {key: processors[key](value) if key in processors else value for key, value in params.items()}
    if form.order is not None:
        values = tuple(values[name] for name in form.order)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn._has_events or conn.engine._has_events:
            conn.dispatch.before_cursor_execute(conn, cursor, form.sql, values, None, False)
        cursor.execute(form.sql, values)
        rows = list(cursor.fetchall()) if cursor.description is not None else []
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, form.sql, values, cursor, None)  # raises SQLAlchemy's wrapper
        raise  # pragma: no cover - _handle_dbapi_exception always raises
    finally:
        cursor.close()
    return rows


@functools.lru_cache(maxsize=128)
def _returning(shape: Shape) -> sa.TextClause:
    sql, typed = _sql(shape)
    return sa.text(sql + " RETURNING id").bindparams(*typed)


def _linked_to(batch: Batch, head_id: int) -> Batch:
    """`batch` with every row's `case_id` set to `head_id` (the head row, written first, got it)."""
    if batch.rows == 0 or LINKED not in batch.columns:
        return batch
    params = {**batch.params, **{f"{batch.name}_{i}_{LINKED}": head_id for i in range(batch.rows)}}
    return Batch(batch.table, batch.columns, batch.rows, batch.name, batch.suffix, params)
