"""The migrations build exactly the schema the models declare, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from api.extensions import db
from engine.db import Base, modelled


def test_migrated_schema_matches_the_models(app: Flask) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": modelled})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_postgresql_storage_settings_for_dead_versions_and_the_search_index(app: Flask) -> None:
    """Migration h21_storage: room on a case's page for its later versions; no GIN pending list."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite has neither setting
    with db.engine.connect() as conn:
        options = conn.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = :n"), {"n": "complaint"})
        fts = conn.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = :n"), {"n": "ix_complaint_fts"})
        digests = conn.execute(
            sa.text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND column_name IN ('prev_hash', 'hash', 'event_hash') AND data_type = 'bytea'"
            )
        )
        assert {"fillfactor=70", "toast_tuple_target=4080"} <= set(options.scalar_one())
        assert fts.scalar_one() == ["fastupdate=off"]
        assert sorted(tuple(row) for row in digests) == [
            ("complaint", "event_hash", "bytea"), ("event", "hash", "bytea"), ("event", "prev_hash", "bytea")
        ]  # fmt: skip
