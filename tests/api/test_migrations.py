"""The migrations build exactly the schema the models declare, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from api.extensions import db
from engine.db import CHECKED_AT_COMMIT, Base, modelled, on_backend


def test_migrated_schema_matches_the_models(app: Flask) -> None:
    with db.engine.connect() as conn:
        include_object = on_backend(conn.dialect.name)  # SQLite-only indexes
        options = {"compare_type": True, "include_name": modelled, "include_object": include_object}
        context = MigrationContext.configure(conn, opts=options)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_postgresql_storage_settings_for_dead_versions_and_the_search_index(app: Flask) -> None:
    """Migration h21_storage: room on a case's page for its later versions (h25_state_format retuned it for
    format 2 states); no GIN pending list (h23_storage lowered its toast_tuple_target)."""
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
        assert {"fillfactor=63", "toast_tuple_target=128"} <= set(options.scalar_one())
        assert fts.scalar_one() == ["fastupdate=off"]
        assert sorted(tuple(row) for row in digests) == [
            ("complaint", "event_hash", "bytea"), ("event", "hash", "bytea"), ("event", "prev_hash", "bytea")
        ]  # fmt: skip


def test_an_events_data_is_stored_as_its_json_text_on_postgresql(app: Flask) -> None:
    """Migration h22_event_json: `json`, not `jsonb` (read whole, never queried inside; smaller); the chain
    still verifies, since it hashes the canonical JSON Python builds."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite keeps JSON as text anyway
    with db.engine.connect() as conn:
        query = "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND "
        kind = conn.execute(sa.text(query + "table_name = 'event' AND column_name = 'data'")).scalar_one()
    assert kind == "json"


def test_a_commands_rows_name_their_case_checked_at_commit_on_postgresql(app: Flask) -> None:
    """Migration h26_deferred_checks: the foreign keys to `complaint` of the rows a command writes with its
    case row in one statement are checked at COMMIT on PostgreSQL (`engine.db.CHECKED_AT_COMMIT`); the others
    stay immediate. SQLite (its comparison with the models leaves these keys out) keeps them, immediate."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            query = (
                "SELECT conrelid::regclass::text, condeferrable AND condeferred FROM pg_constraint "
                "WHERE contype = 'f' AND confrelid = 'complaint'::regclass"
            )
            deferred = {table: flag for table, flag in conn.execute(sa.text(query))}
        else:
            inspector = sa.inspect(conn)
            deferred = {
                table: bool(fk["options"].get("deferrable"))
                for table in inspector.get_table_names()
                for fk in inspector.get_foreign_keys(table)
                if fk["referred_table"] == "complaint"
            }
    postgresql = db.engine.dialect.name == "postgresql"
    assert {table for table, flag in deferred.items() if flag} == (set(CHECKED_AT_COMMIT) if postgresql else set())
    assert set(CHECKED_AT_COMMIT) | {"read_log", "incident", "attachment"} <= set(deferred)


def _indexes(conn: sa.Connection) -> dict[str, str]:
    """Index name → its definition (PostgreSQL) or its SQL (SQLite), for the complaint and event tables."""
    if conn.dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('complaint', 'event')"
    else:
        tables = "tbl_name IN ('complaint', 'event')"
        query = f"SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND {tables}"
    return {name: definition for name, definition in conn.execute(sa.text(query))}


def test_h22_storage_upgrades_and_downgrades(app: Flask) -> None:
    """Migration h22_storage: on PostgreSQL the stats index covers the hot spots, which lose their own index,
    and created_on has no index of its own; event.type has no index anywhere. Its downgrade restores them."""
    from flask_migrate import downgrade, upgrade

    postgresql = db.engine.dialect.name == "postgresql"
    try:
        downgrade(revision="h21_storage")
        db.engine.dispose()
        with db.engine.connect() as conn:
            before = _indexes(conn)
        assert {"ix_complaint_hotspot", "ix_complaint_created_on", "ix_event_type"} <= set(before)
        if postgresql:
            assert "latitude" not in before["ix_complaint_stats"]
    finally:
        upgrade()
        db.engine.dispose()
    with db.engine.connect() as conn:
        after = _indexes(conn)
        include_object = on_backend(conn.dialect.name)
        options = {"compare_type": True, "include_name": modelled, "include_object": include_object}
        assert compare_metadata(MigrationContext.configure(conn, opts=options), Base.metadata) == []
    assert "ix_event_type" not in after
    if postgresql:
        assert not {"ix_complaint_hotspot", "ix_complaint_created_on", "ix_complaint_stats_h22"} & set(after)
        assert "INCLUDE (agency, desk, confidential" in after["ix_complaint_stats"]
        assert after["ix_complaint_stats"].endswith("rating, id, latitude, longitude)")
    else:  # SQLite keeps the hot-spot index, and the one on created_on
        assert {"ix_complaint_hotspot", "ix_complaint_created_on"} <= set(after)


def _storage(conn: sa.Connection) -> dict[str, str]:
    """Column → its storage (PostgreSQL's attstorage) for the variable-length columns of `complaint`."""
    query = (
        "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'complaint'::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attlen = -1"
    )
    return {name: storage for name, storage in conn.execute(sa.text(query))}


def test_only_the_body_of_a_complaint_may_leave_its_row(app: Flask) -> None:
    """Migration h23_storage: the body is the one column PostgreSQL may move out of line (EXTENDED, 'x'); every
    other one stays in the row (MAIN, 'm'), so that a column added later is not moved out and rewritten into
    TOAST by every command without anyone deciding it. Its downgrade restores h22's layout."""
    from flask_migrate import downgrade, upgrade

    if db.engine.dialect.name != "postgresql":
        return  # SQLite has no TOAST
    with db.engine.connect() as conn:
        storage = _storage(conn)
    assert {name for name, kind in storage.items() if kind != "m"} == {"body"}
    assert storage["body"] == "x"
    try:
        downgrade(revision="h22_event_json")
        db.engine.dispose()
        with db.engine.connect() as conn:
            before = _storage(conn)
            options = conn.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'complaint'"))
            assert "toast_tuple_target=4080" in options.scalar_one()
        assert {name for name, kind in before.items() if kind == "m"} == {"state"}
    finally:
        upgrade()
        db.engine.dispose()
    with db.engine.connect() as conn:
        assert _storage(conn) == storage


SPARSE_LOOKUPS = {  # each sparse column's index, and a query that must be able to use it
    "next_timer_at": "SELECT id FROM complaint WHERE next_timer_at IS NOT NULL AND next_timer_at < now() "
    "ORDER BY next_timer_at LIMIT 10",
    "contact_phone": "SELECT id FROM complaint WHERE contact_phone = '6281234567890'",
    "contact_email": "SELECT id FROM complaint WHERE contact_email = 'warga@example.org'",
    "reporter_username": "SELECT id FROM complaint WHERE reporter_username = 'warga'",
    "area": "SELECT id FROM complaint WHERE area = 'batam-kota'",
}


def test_sparse_columns_are_indexed_where_set_and_their_lookups_use_the_index(app: Flask) -> None:
    """Migration h23_sparse_indexes: each of these indexes leaves out the rows where its column is empty, and
    the lookups the engine makes still use it (PostgreSQL's planner, sequential scans off: the test tables are
    too small for it to choose an index on its own). Its downgrade restores the full indexes."""
    from flask_migrate import downgrade, upgrade

    with db.engine.connect() as conn:
        indexes = _indexes(conn)
        for column, lookup in SPARSE_LOOKUPS.items():
            definition = indexes[f"ix_complaint_{column}"].replace("(", "").replace(")", "")
            assert definition.endswith(f"WHERE {column} IS NOT NULL"), definition
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {lookup}")).scalars())
                assert f"ix_complaint_{column}" in plan, plan
        conn.rollback()
    try:
        downgrade(revision="h23_storage")
        db.engine.dispose()
        with db.engine.connect() as conn:
            before = _indexes(conn)
        assert all("WHERE" not in before[f"ix_complaint_{column}"] for column in SPARSE_LOOKUPS)
    finally:
        upgrade()
        db.engine.dispose()


def _stats_objects(conn: sa.Connection) -> set[str]:
    tables = set(sa.inspect(conn).get_table_names())
    found = {name for name in ("stats_snapshot", "stats_cell", "stats_delta") if name in tables}
    if conn.dialect.name == "postgresql":
        query = (
            "SELECT tgname FROM pg_trigger WHERE tgname = 'stats_log_change'"
            " UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'stats\\_%'"
        )
        found |= set(conn.execute(sa.text(query)).scalars())
    return found


def test_h24_stats_rollup_logs_every_case_write_and_downgrades(app: Flask, demo_directory: None) -> None:
    """Migration h24_stats_rollup: on PostgreSQL the trigger logs a case's figures' columns as they were
    before each write (and the earliest deadline of its open tasks); the downgrade removes the tables, the
    trigger and the functions, and the waiting-follow-up index."""
    from flask_migrate import downgrade, upgrade

    from tests.engine.conftest import VERIFIER, Desk

    desk = Desk(db.session())
    desk.submit(category="kebersihan")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    with db.engine.connect() as conn:
        objects = _stats_objects(conn)
        logged = conn.execute(sa.text("SELECT existed, status, min_due FROM stats_delta ORDER BY seq")).all()
        indexes = _indexes(conn)
    assert "WHERE first_follow_up_at IS NULL" in indexes["ix_complaint_followup_due"].replace("(", "")
    if db.engine.dialect.name == "postgresql":
        assert objects == {
            "stats_snapshot",
            "stats_cell",
            "stats_delta",
            "stats_log_change",
            "stats_window",
            "stats_window_median",
            "stats_kth",
        }
        assert [(existed, status) for existed, status, _due in logged[:1]] == [(False, None)]  # the intake
        assert logged[-1][1] == "submitted" and logged[-1][2] is not None  # as it was: verification was due
    else:
        assert objects == {"stats_snapshot", "stats_cell", "stats_delta"} and logged == []
    db.session.remove()
    try:
        downgrade(revision="h23_sparse_indexes")
        db.engine.dispose()
        with db.engine.connect() as conn:
            assert _stats_objects(conn) == set()
            assert "ix_complaint_followup_due" not in _indexes(conn)
    finally:
        upgrade()
        db.engine.dispose()
