"""What the database drivers are told on every connection (SQLite's pragmas) and what psycopg is tuned for.

Imported by `engine.db`, so whatever opens a connection through SQLAlchemy (the API, the workers, the CLI,
the benches) gets the same: SQLite enforces foreign keys, runs in WAL mode and waits for a busy writer;
psycopg caches the conversion of long statements and builds a result's column descriptions once per shape
(`DescribedCursor`). Each psycopg tuning leaves psycopg's behaviour as it was when the psycopg installed has
not the internals it relies on.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

MAX_SHAPES = 512  # result shapes remembered per connection (a process's statements come in a few hundred)


def _cache_long_statements() -> None:
    """Let psycopg cache the conversion of long statements too.

    psycopg turns each statement's `%(name)s` placeholders into `$n` by a pass over its text, and caches the
    result only for statements under 4 KB and 50 parameters (so that ORM-made multi-row INSERTs of every
    length do not flood its cache). A command's writes are past them (a new case's INSERT alone has 48
    parameters; the children's statement often more) but come in a few shapes only (`write_with_children`),
    so they were converted anew every time: about 0.1 ms of client CPU per command. The limits are module
    constants of psycopg's `_queries`; if a later psycopg has neither, nothing changes."""
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - SQLite-only installs
        return
    if hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH") and hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS"):
        _queries.MAX_CACHED_STATEMENT_LENGTH = 64 * 1024
        _queries.MAX_CACHED_STATEMENT_PARAMS = 1000
        if hasattr(_queries, "_query2pg_nocache") and hasattr(_queries, "_query2pg"):
            _queries._query2pg = functools.lru_cache(maxsize=1024)(_queries._query2pg_nocache)


_cache_long_statements()


def _described_cursor() -> type | None:
    """psycopg's cursor with `description` built once per result shape and connection (None without psycopg).

    psycopg builds `description` anew at every call: one `Column` object per column, its name decoded and
    its type looked up, in Python. SQLAlchemy asks for it after every SELECT, though it reads the columns of
    a cached statement from its own cache and only needs to know that rows came; for the ORM's reads of a
    task with its case (70 columns) that was 60-100 µs of client CPU each time. Here the columns of a result
    are looked up by what they are built from (each column's name, type and modifier: read from the result
    in C) and built only the first time that shape comes on the connection; every call still gets a list of
    its own. A result with no columns is described by psycopg itself."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installs
        return None

    class DescribedCursor(psycopg.Cursor[Any]):
        @property
        def description(self) -> list[psycopg.Column] | None:
            res = self.pgresult
            if res is None or not res.nfields:
                return super().description
            fields = range(res.nfields)
            shape = (tuple(map(res.fname, fields)), tuple(map(res.ftype, fields)), tuple(map(res.fmod, fields)))
            conn = self._conn
            shapes: dict[Any, list[psycopg.Column]] | None = getattr(conn, "_aduan_shapes", None)
            if shapes is None:
                shapes = conn._aduan_shapes = {}  # type: ignore[attr-defined]
            columns = shapes.get(shape)
            if columns is None:
                columns = super().description or []
                if len(shapes) >= MAX_SHAPES:
                    shapes.clear()
                shapes[shape] = columns
            return list(columns)

    DescribedCursor.__name__ = DescribedCursor.__qualname__ = "DescribedCursor"
    return DescribedCursor


DescribedCursor = _described_cursor()


@sa.event.listens_for(sa.Engine, "connect")
def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, WAL for concurrent readers, and wait for a busy writer. psycopg: the
    described cursor, unless the connection was given a cursor class of its own (`connect_args`)."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
    elif DescribedCursor is not None and module.startswith("psycopg"):
        import psycopg

        if dbapi_connection.cursor_factory is psycopg.Cursor:
            dbapi_connection.cursor_factory = DescribedCursor
