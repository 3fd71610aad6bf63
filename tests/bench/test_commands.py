"""The bench commands run to their end on the current schema, at the smallest sizes (exit codes and the
lines they print, never times): a schema change that breaks a bench's bulk fill fails here, not in the
next measurement."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bench import bench, load_subcommands
from bench.engine_steps import Cost
from tests.conftest import BASE_POSTGRES_URL, _postgres_available

load_subcommands()


@pytest.fixture(autouse=True)
def one_bench_at_a_time() -> Iterator[None]:
    """Every test here writes a scratch database as a bench does, and the page-count test needs the dead row
    versions of its cases pruned as it goes: beside another of these tests on the other xdist worker, that
    one's transactions keep them alive (8-10 pages instead of 5). So they take turns: a session-level
    advisory lock, held by a connection outside any transaction (which would itself hold back pruning)."""
    if _postgres_available():
        yield  # the tests skip (or fail in CI) on their own
        return
    engine = sa.create_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": BENCH_LOCK})
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": BENCH_LOCK})
    engine.dispose()


BENCH_LOCK = 0x41_44_55_42  # "ADUB": any key no other test takes


@pytest.fixture
def scratch_url() -> str:
    """A scratch database name of this xdist worker; the bench creates and drops it."""
    if reason := _postgres_available():
        if os.environ.get("ADUAN_REQUIRE_POSTGRES") or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return sa.make_url(BASE_POSTGRES_URL).set(database=f"aduan_bench_t_{worker}").render_as_string(False)


def _run(*args: str) -> str:
    result = CliRunner().invoke(bench, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_scale_fills_both_databases_and_compares_them(scratch_url: str) -> None:
    out = _run("scale", "--small", "5", "--large", "20", "--cases", "2", "--runs", "1", "--postgres-url", scratch_url)
    assert "20 cases: filled" in out
    assert "target: commands at 20 cases within 1.1x of 5" in out


def test_storage_counts_every_table(scratch_url: str) -> None:
    out = _run("storage", "--cases", "3", "--postgres-url", scratch_url)
    assert "all tables" in out and "complaint" in out and "event" in out


def test_engine_and_history_run_on_both_backends(scratch_url: str) -> None:
    out = _run("engine", "--cases", "5", "--runs", "1", "--batch", "2", "--postgres-url", scratch_url)
    assert "fire timers" in out and "fire timers, batch" in out
    assert "stored state" in _run("history", "--loops", "3", "--cases", "1")


def test_timers_fire_through_the_scheduler_loop() -> None:
    """The lateness part runs the workers' scheduler loop, which takes the workers' host (not the Flask app:
    given the app, the loop died at once, no timer fired and the command ended in an IndexError)."""
    out = _run("timers", "--open", "4", "--due", "2", "--spread", "1", "--interval", "0.2", "--repeat", "1")
    assert "lateness due → fired (2 timers, inline" in out


def test_engine_parts_names_every_part_it_wraps(scratch_url: str) -> None:
    """The parts are wrapped by name: a renamed engine function fails here, not in someone's benchmark."""
    out = _run("engine-parts", "--cases", "2", "--postgres-url", scratch_url)
    assert "the write: case row and children" in out and "raw SpiffWorkflow" in out


def test_driver_ab_compares_the_two_ways_of_running_a_write(scratch_url: str) -> None:
    """Both variants run every step (the one through SQLAlchemy swaps `first_column` back afterwards)."""
    from engine import db
    from engine.directory import snapshot

    shipped = db.first_column
    out = _run("driver-ab", "--cases", "2", "--runs", "1", "--postgres-url", scratch_url)
    assert "driver's cursor" in out and "through SQLAlchemy" in out and "fire timers" in out
    assert db.first_column is shipped and snapshot.first_column is shipped


def test_driver_ab_compares_the_two_state_formats(scratch_url: str) -> None:
    """The other subject really writes format 1 (and the swap is undone after its runs)."""
    import orjson

    from bench.driver_ab import FORMAT_1, Variant, format_1_swaps
    from bench.engine_steps import fresh_postgres
    from engine.cases.case import Case
    from engine.processes import serialization

    shipped = serialization.state_text
    subject = Variant(FORMAT_1, fresh_postgres(scratch_url), format_1_swaps())
    try:
        subject.run("start", 0, Cost())
        with subject.app.app_context():
            state = subject.db.session.get_one(Case, subject.case_ids[0]).state
        assert "aduan" not in orjson.loads(serialization.inflate(state))  # format 1: the converters' dicts
    finally:
        subject.close()
    assert serialization.state_text is shipped
    out = _run("driver-ab", "--compare", "state-format", "--cases", "2", "--runs", "1", "--postgres-url", scratch_url)
    assert "state format 2" in out and "state format 1" in out and "reply" in out


def test_driver_ab_compares_described_and_plain_cursors(scratch_url: str) -> None:
    """The other subject's connections really keep psycopg's own cursor (else the A/B compares nothing)."""
    import psycopg

    from bench.driver_ab import PsycopgDescribes
    from bench.engine_steps import fresh_postgres

    subject = PsycopgDescribes("plain", fresh_postgres(scratch_url))
    try:
        with subject.app.app_context(), subject.db.engine.connect() as conn:
            assert type(conn.connection.dbapi_connection.cursor()) is psycopg.Cursor  # type: ignore[union-attr]
    finally:
        subject.close()
    out = _run("driver-ab", "--compare", "descriptions", "--cases", "2", "--runs", "1", "--postgres-url", scratch_url)
    assert "described once" in out and "psycopg describes" in out and "fire timers" in out


def test_closed_cases_share_heap_pages_as_written(scratch_url: str) -> None:
    """A page-count regression test for `aduan bench storage`: a case closed by its four commands (one
    backend, no VACUUM, as the bench writes them) leaves its page with room for the next case, because the
    case's dead versions are pruned when its children's statement reads the row again. Writing the case row
    inside the children's statement kept the page pinned and left one case per page (twice the heap)."""
    from bench.engine_steps import fresh_postgres
    from bench.storage import close_one, seeded

    pages = []
    for _attempt in range(3):  # pruning waits for every older transaction of the cluster: another worker's
        with seeded(fresh_postgres(scratch_url)) as session:  # test may hold one; the regression fails all 3
            for _ in range(10):
                close_one(session)
            pages.append(session.scalar(sa.text("SELECT pg_relation_size('complaint') / 8192")))
        if pages[-1] <= 6:
            break
    assert min(pages) <= 6, f"{pages} heap pages for 10 closed cases, in each attempt"


def test_a_long_body_is_written_once(scratch_url: str) -> None:
    """Migration h23_storage, as `aduan bench storage --body-chars 600` writes cases: each body is one value
    in the table's TOAST, which the case's three later versions point to instead of copying it. Kept in every
    version (h22's layout) there is no TOAST value at all; moved out by every command, four per case. (The
    heap pages this saves are the bench's to show: their count depends on the other sessions of the server,
    whose snapshots keep dead versions from being pruned.)"""
    from bench.engine_steps import fresh_postgres
    from bench.storage import body_of, close_one, seeded

    with seeded(fresh_postgres(scratch_url)) as session:
        for n in range(10):
            close_one(session, body_of(600, n))
        toast = session.scalar(sa.text("SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 'complaint'"))
        values = session.scalar(sa.text(f"SELECT count(DISTINCT chunk_id) FROM {toast}"))
        closed = session.scalar(sa.text("SELECT count(*) FROM complaint WHERE status = 'closed'"))
    assert (values, closed) == (10, 10), f"{values} TOAST values for {closed} closed cases"


def test_driver_ab_compares_one_write_with_two(scratch_url: str) -> None:
    """The other subject really writes the case row and its children as two statements (else the A/B
    compares nothing), and its cases come out as the shipped subject's do."""
    from bench.driver_ab import TWO_WRITES, Variant, two_writes_swaps
    from bench.engine_steps import fresh_postgres
    from engine.cases import lifecycle
    from engine.cases.case import Case

    shipped = lifecycle.write_with_children
    subject = Variant(TWO_WRITES, fresh_postgres(scratch_url), two_writes_swaps())
    statements: list[str] = []
    try:
        with subject.app.app_context():
            engine = subject.db.engine

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", seen)
        subject.run("start", 0, Cost())
        sa.event.remove(engine, "before_cursor_execute", seen)
        with subject.app.app_context():
            case = subject.db.session.get_one(Case, subject.case_ids[0])
            assert case.status == "submitted" and case.event_seq == 1
    finally:
        subject.close()
    writes = [s for s in statements if s.lstrip().startswith(("INSERT", "WITH", "UPDATE"))]
    assert len(writes) == 2 and writes[0].startswith("INSERT INTO complaint"), writes
    assert lifecycle.write_with_children is shipped
    out = _run("driver-ab", "--compare", "one-write", "--cases", "2", "--runs", "1", "--postgres-url", scratch_url)
    assert "one write statement" in out and "case row, then children" in out and "fire timers" in out
