"""`aduan bench inbox`: the inbox query at N open cases, on a scratch PostgreSQL database.

N open cases, each waiting on one READY user task, are bulk-inserted straight into `complaint` and `task`
(not through the workflow: every case row carries the same real 3 KB workflow state, so rows are as wide
as real ones): 30 % wait at the desk of a city (`verify`, role verifier), 70 % at its 12 dinas and their
24 units (`respond`, role officer), deadlines spread over the month around now. Then the inbox as
GET /tasks runs it (`engine.cases.tasks.inbox_query`, first page of 100 joined with the case) is timed for the
desk's verifier and for one dinas officer, EXPLAINed, and optionally driven over HTTP through gunicorn.
The database is created and dropped by the bench (`aduan_bench_inbox`; never a database you keep).
"""

from __future__ import annotations

import random
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench import bench, city
from bench.http import (
    DEMO_PASSWORD,
    CpuMeter,
    Load,
    gunicorn,
    measured_wrk,
    postgres_reachable,
    print_loads,
    run_wrk,
    scratch_postgres,
    service_env,
)
from engine.cases import tasks
from engine.cases.access import Actor
from engine.cases.case import Case, Status
from engine.cases.tasks import TaskRecord
from engine.processes import registry as processes

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/aduan_bench_inbox"
ROOT = "inboxkota"
DESK, DINAS, UNITS = city.agencies(ROOT)
VERIFIER = Actor("inbox.verifier", "verifier", DESK)
OFFICER = Actor("inbox.officer", "officer", DINAS[2])
CHUNK = 5000
PAGE = 100


@dataclass
class Timing:
    """Wall times in milliseconds of repeated runs of one query."""

    name: str
    values: list[float] = field(default_factory=list)
    rows: int = 0
    matching: int = 0

    def pct(self, p: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.values)


@dataclass
class InboxReport:
    open_cases: int
    seconds_to_insert: float
    timings: list[Timing]
    plans: dict[str, list[str]]
    index_used: dict[str, str]  # how each query reads `task`: "index <name>" or "seq scan"
    http: list[Load] = field(default_factory=list)


def ensure_directory(session: Session) -> None:
    """The bench city: its desk, 12 dinas with two units each, and the default process."""
    city.ensure_city(session, ROOT)


def real_state(session: Session) -> tuple[bytes, str]:
    """The stored workflow state of a real case waiting at `verify` (the case stays: one more open case)."""
    from engine.cases import lifecycle

    sub = lifecycle.Submission(title="Lampu jalan mati", body="Gelap sejak dua minggu.", agency=DINAS[0])
    case = lifecycle.start_case(session, sub).case
    return case.state, case.serializer_version


def _case_and_task(rng: random.Random, n: int, version_id: int, state: bytes, serializer: str, now: datetime) -> tuple[
    dict[str, Any], dict[str, Any]
]:  # fmt: skip
    created = now - timedelta(seconds=rng.uniform(0, 20 * 86400))
    at_desk = rng.random() < 0.3
    agency = None if at_desk else (rng.choice(UNITS) if rng.random() < 0.2 else rng.choice(DINAS))
    case = {
        "tracking_id": f"INB-{n:010d}", "reporter_token_hash": "0" * 64, "process_version_id": version_id,
        "serializer_version": serializer, "version": 1, "status": Status.SUBMITTED if at_desk else Status.IN_PROGRESS,
        "kind": "complaint", "category": "lainnya", "agency": agency, "desk": DESK, "title": f"Aduan {n}",
        "body": "synthetic", "channel": "web", "anonymous": False, "confidential": False, "escalated": False,
        "escalation_level": 0, "event_seq": 0, "event_hash": "", "created_at": created, "updated_at": created,
        "created_on": created.date(), "disposition_count": 0, "rerouted_count": 0, "state": state,
        "next_timer_at": created + timedelta(days=rng.uniform(1, 12)),
    }  # fmt: skip
    task = {
        "id": str(uuid.UUID(int=rng.getrandbits(128))), "name": "verify" if at_desk else "respond",
        "title": "Verifikasi" if at_desk else "Tindak lanjut", "role": "verifier" if at_desk else "officer",
        "agency": DESK if at_desk else agency, "due_at": created + timedelta(days=rng.uniform(3, 9)),
        "form": "verify.schema.json" if at_desk else "respond.schema.json", "state": "ready", "created_at": created,
    }  # fmt: skip
    return case, task


def insert_open_cases(session: Session, count: int, seed: int = 2026) -> float:
    """Bulk-insert `count` open cases with one READY task each; returns the seconds it took."""
    version = processes.active_version(session, processes.DEFAULT_KEY)
    assert version is not None
    state, serializer = real_state(session)
    rng, began, now = random.Random(seed), time.perf_counter(), datetime.now(UTC)
    case_table, task_table = cast(sa.Table, Case.__table__), cast(sa.Table, TaskRecord.__table__)
    for start in range(0, count, CHUNK):
        pairs = [
            _case_and_task(rng, n, version.id, state, serializer, now) for n in range(start, min(start + CHUNK, count))
        ]
        ids = session.execute(
            sa.insert(case_table).returning(case_table.c.id, sort_by_parameter_order=True), [c for c, _ in pairs]
        ).scalars()
        session.execute(sa.insert(task_table), [{**t, "case_id": i} for i, (_, t) in zip(ids, pairs, strict=True)])
        session.commit()
    session.execute(sa.text("ANALYZE complaint"))
    session.execute(sa.text("ANALYZE task"))
    session.commit()
    return time.perf_counter() - began


def inbox_page(actor: Actor) -> sa.Select[Any]:
    """The query of GET /tasks: the actor's first page of READY tasks with their cases."""
    select = tasks.inbox_query(actor).limit(PAGE)
    return select.add_columns(Case).join(Case, Case.id == TaskRecord.case_id)


def time_inbox(session: Session, actor: Actor, repeat: int) -> Timing:
    """Run the inbox page `repeat` times (after a warm-up), rows materialized as GET /tasks does."""
    from api import views

    query = inbox_page(actor)
    timing = Timing(f"inbox, {actor.role} of {actor.agency}")

    def once() -> int:
        rows = [views.task(row, case) for row, case in session.execute(query)]
        session.rollback()  # a request ends its transaction; the next one starts cold in the identity map
        return len(rows)

    once()
    for _ in range(repeat):
        began = time.perf_counter()
        timing.rows = once()
        timing.values.append((time.perf_counter() - began) * 1000)
    count = sa.select(sa.func.count()).select_from(tasks.inbox_query(actor).order_by(None).subquery())
    timing.matching = session.scalar(count) or 0
    session.rollback()
    return timing


def explain(session: Session, actor: Actor) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the inbox page on PostgreSQL."""
    compiled = inbox_page(actor).compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    sql = str(compiled).replace("%%", "%")  # run without parameters (so with no placeholders) below
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        lines = [str(row[0]) for row in cursor.fetchall()]
    finally:
        cursor.close()
        session.rollback()
    return lines


def scans_of_task(plan: list[str]) -> str:
    """How a plan reads the task table: the index it scans, or a sequential scan."""
    text = "\n".join(plan)
    index = re.search(r"Index (?:Only )?Scan (?:Backward )?using (\w+) on task\b", text)
    index = index or re.search(r"Bitmap Index Scan on (ix_task\w*)", text)
    if index:
        return f"index {index.group(1)}"
    return "seq scan" if re.search(r"Seq Scan on task\b", text) else "?"


def run_inbox(database: str, open_cases: int, repeat: int, http_seconds: float) -> InboxReport:
    """Seed a scratch database with `open_cases` open cases and time the inbox (and GET /tasks over HTTP)."""
    from api import create_app
    from api.extensions import db

    with scratch_postgres(database) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "bench-inbox"})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            session = db.session()
            ensure_directory(session)
            seconds = insert_open_cases(session, open_cases)
            timings = [time_inbox(session, actor, repeat) for actor in (VERIFIER, OFFICER)]
            plans = {t.name: explain(session, a) for t, a in zip(timings, (VERIFIER, OFFICER), strict=True)}
            used = {name: scans_of_task(plan) for name, plan in plans.items()}
            http: list[Load] = []
            if http_seconds > 0:
                http = _over_http(app, url, http_seconds)
            db.session.remove()
            db.engine.dispose()
    return InboxReport(open_cases, seconds, timings, plans, used, http)


def _over_http(app: Any, url: str, seconds: float) -> list[Load]:
    """GET /tasks through gunicorn (2 workers) for the verifier and the officer."""
    import tempfile

    from api.auth import issue_token
    from api.extensions import db
    from engine.directory import users

    session = db.session()
    loads = []
    secret = "bench-inbox-" + uuid.uuid4().hex
    with tempfile.TemporaryFile() as log:
        env = service_env(url, None, "benchinbox", secret)
        for actor in (VERIFIER, OFFICER):
            if session.get(users.User, actor.username) is None:
                users.create_user(session, actor.username, actor.role, DEMO_PASSWORD, actor.agency)
        session.commit()
        with app.app_context():
            app.config["SECRET_KEY"] = secret
            tokens = [issue_token(session.get_one(users.User, a.username))[0] for a in (VERIFIER, OFFICER)]
        with gunicorn(env, log) as (proc, port):
            meter = CpuMeter(proc.pid, url)
            for actor, token in zip((VERIFIER, OFFICER), tokens, strict=True):
                run_wrk(port, "inbox", 1, 4, 2, 10_000, token=token)
                load = measured_wrk(meter, port=port, mode="inbox", duration=seconds, connections=4, threads=2,
                                    max_requests=20_000, token=token)  # fmt: skip
                load.note = f"{actor.role} of {actor.agency}"
                loads.append(load)
    return loads


def print_inbox(report: InboxReport, plans: bool = False) -> None:
    click.echo(
        f"{report.open_cases} open cases with one READY task each, bulk-inserted in {report.seconds_to_insert:.0f} s"
    )
    click.echo(f"{'query':<44}{'median ms':>10}{'p95 ms':>9}{'p99 ms':>9}{'rows':>6}{'matching':>10}  index")
    for t in report.timings:
        index = report.index_used.get(t.name, "?")
        click.echo(
            f"{t.name:<44}{t.median:>10.2f}{t.pct(95):>9.2f}{t.pct(99):>9.2f}{t.rows:>6}{t.matching:>10}  {index}"
        )
    if plans:
        for name, plan in report.plans.items():
            click.echo(f"EXPLAIN ANALYZE, {name}:")
            for line in plan:
                click.echo("    " + line)
    if report.http:
        from bench.http import HttpReport

        print_loads(HttpReport(report.http, [], "GET /tasks over HTTP (gunicorn, 2 sync workers, wrk 2x4):"))


@bench.command("inbox")
@click.option("--open", "open_cases", default=100_000, show_default=True, help="open cases (one READY task each)")
@click.option("--repeat", default=200, show_default=True, help="timed runs per inbox")
@click.option("--database", default=DEFAULT_DATABASE, show_default=True, help="scratch PostgreSQL database: DROPPED")
@click.option("--http", "http_seconds", default=10.0, show_default=True, help="seconds of GET /tasks load (0: none)")
@click.option("--explain", "show_plans", is_flag=True, help="print the query plans")
def inbox_bench(open_cases: int, repeat: int, database: str, http_seconds: float, show_plans: bool) -> None:
    """Inbox (GET /tasks) latency at N open cases on PostgreSQL, with its query plan."""
    if not postgres_reachable(database):
        raise click.ClickException("PostgreSQL is unreachable")
    print_inbox(run_inbox(database, open_cases, repeat, http_seconds), show_plans)
