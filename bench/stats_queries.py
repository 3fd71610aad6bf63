"""`aduan bench stats`: how long the `/stats` queries take on N cases, on the configured database.

The cases are synthetic: bulk-inserted straight into `complaint` (and open `task` rows), NOT driven through
the workflow, so they have no real workflow state (3 KB of random bytes stand in for it, so rows are as
wide as real ones), no events and no follow-ups; the read-model columns `/stats` reads are filled with
plausible distributions. They are marked (`BENCH-…` tracking ids, agencies under
`benchkota`) and kept, so a second run reuses them; `--drop` deletes them afterwards. Point DATABASE_URL at
a scratch database.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from api.extensions import db
from bench import bench, city, hotspots
from engine import places
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord
from engine.processes import registry as processes
from engine.stats import figures as stats
from engine.stats import rollup

PREFIX = "BENCH-"
ROOT = "benchkota"
DESK, DINAS, UNITS = city.agencies(ROOT)
KINDS = (("complaint", 70), ("aspiration", 15), ("information_request", 10), ("complaint_investigation", 5))
CATEGORIES = ("kebersihan", "parkir", "kesehatan", "jalan", "perizinan", "lainnya")
STATUSES = (
    ("submitted", 8), ("needs_info", 3), ("archived", 7), ("dispositioned", 8), ("in_progress", 10),
    ("awaiting_reporter", 9), ("closed", 55),
)  # fmt: skip
AGENCY_STATUSES = frozenset({"dispositioned", "in_progress", "awaiting_reporter", "closed"})
FOLLOWED_UP = frozenset({"in_progress", "awaiting_reporter", "closed"})
OPTIONAL = (
    "verified_at", "dispositioned_at", "first_follow_up_due_at", "first_follow_up_at", "followup_working_days",
    "closed_at", "rating", "close_reason",
)  # fmt: skip
CHUNK = 5000
STATE_BYTES = 3000  # a real case's compressed workflow state is 2-3 KB: rows as wide as real ones
WIB = ZoneInfo("Asia/Jakarta")
YEAR_START = datetime(2026, 1, 1, tzinfo=WIB)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def ensure_directory(session: Session) -> None:
    """The bench agencies (a city, its desk, 12 dinas with 2 units each) and the default process."""
    city.ensure_city(session, ROOT)
    hotspots.ensure_areas(session)


def synthetic_case(rng: random.Random, n: int, version_id: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One case's row, and the row of its open task (None when it waits on nobody on staff)."""
    created = YEAR_START + timedelta(seconds=rng.uniform(0, 364 * 86400))
    status = _pick(rng, STATUSES)
    agency = rng.choice(UNITS) if rng.random() < 0.2 else rng.choice(DINAS)
    row: dict[str, Any] = {
        "tracking_id": f"{PREFIX}{n:09d}", "reporter_token_hash": "0" * 64, "process_version_id": version_id,
        "serializer_version": "bench", "state": rng.randbytes(STATE_BYTES), "version": 1, "status": status,
        "kind": _pick(rng, KINDS),
        "category": rng.choice(CATEGORIES), "agency": agency if status in AGENCY_STATUSES else None, "desk": DESK,
        "title": "synthetic", "body": "synthetic", "channel": "web", "anonymous": False, "confidential": False,
        "escalated": rng.random() < 0.08, "escalation_level": 0, "created_at": created.astimezone(UTC),
        "updated_at": created.astimezone(UTC), "created_on": created.date(), "event_seq": 0, "event_hash": "",
        "status_changed_at": created.astimezone(UTC), "disposition_count": 0, "rerouted_count": 0,
        "verification_working_days": rng.uniform(0, 2.5), **hotspots.location(rng),
    }  # fmt: skip
    row.update(dict.fromkeys(OPTIONAL))  # every row has the same keys (one executemany)
    task = None
    if status in AGENCY_STATUSES:
        _disposed(rng, row, created)
    if status in ("submitted", "dispositioned", "in_progress"):
        role, where = ("verifier", DESK) if status == "submitted" else ("officer", agency)
        due = created + timedelta(days=rng.uniform(1, 12))
        task = {
            "id": str(uuid.UUID(int=rng.getrandbits(128))), "case_id": None, "name": "bench", "title": "bench",
            "role": role, "agency": where, "due_at": due.astimezone(UTC), "form": "", "state": "ready",
            "created_at": created.astimezone(UTC),
        }  # fmt: skip
    return row, task


def _disposed(rng: random.Random, row: dict[str, Any], created: datetime) -> None:
    verified = created + timedelta(days=rng.uniform(0.1, 4))
    rerouted = rng.random() < 0.06
    row.update(
        verified_at=verified.astimezone(UTC), dispositioned_at=verified.astimezone(UTC),
        first_follow_up_due_at=(verified + timedelta(days=7)).astimezone(UTC),
        disposition_count=2 if rerouted else 1, rerouted_count=1 if rerouted else 0,
    )  # fmt: skip
    if row["status"] in FOLLOWED_UP:
        followed = verified + timedelta(days=rng.uniform(0.05, 9))
        row.update(first_follow_up_at=followed.astimezone(UTC), followup_working_days=rng.uniform(0.05, 6.5))
    if row["status"] == "closed":
        row.update(closed_at=(created + timedelta(days=rng.uniform(5, 30))).astimezone(UTC))
        row.update(rating=rng.randint(1, 5) if rng.random() < 0.6 else None, close_reason="satisfied")


def top_up(session: Session, wanted: int, seed: int) -> tuple[int, float]:
    """Bulk-insert bench cases until there are `wanted`; returns (how many inserted, seconds taken)."""
    have = session.scalar(sa.select(sa.func.count()).where(Case.tracking_id.like(PREFIX + "%"))) or 0
    version = processes.active_version(session, processes.DEFAULT_KEY)
    assert version is not None
    rng, began = random.Random(seed + have), time.perf_counter()
    case_table, task_table = cast(sa.Table, Case.__table__), cast(sa.Table, TaskRecord.__table__)
    for start in range(have, wanted, CHUNK):
        pairs = [synthetic_case(rng, n, version.id) for n in range(start, min(start + CHUNK, wanted))]
        ids = session.execute(
            sa.insert(case_table).returning(case_table.c.id, sort_by_parameter_order=True), [c for c, _ in pairs]
        ).scalars()
        tasks = [{**task, "case_id": case_id} for case_id, (_, task) in zip(ids, pairs, strict=True) if task]
        if tasks:
            session.execute(sa.insert(task_table), tasks)
        session.commit()
    if have < wanted:
        vacuum(session)
    return max(0, wanted - have), time.perf_counter() - began


def vacuum(session: Session) -> None:
    """VACUUM ANALYZE the bulk-loaded tables, as autovacuum would soon after (it is off on the bench server):
    without it PostgreSQL's visibility map is empty and no index-only scan can skip the heap."""
    session.commit()
    bind = session.get_bind()
    engine = bind if isinstance(bind, sa.Engine) else bind.engine
    command = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("complaint", "task"):
            connection.execute(sa.text(f"{command} {table}"))


def drop_bench_cases(session: Session) -> None:
    """Delete the bench cases and their tasks (they have no events, so the audit triggers never fire)."""
    bench_ids = sa.select(Case.id).where(Case.tracking_id.like(PREFIX + "%"))
    session.execute(sa.delete(TaskRecord).where(TaskRecord.case_id.in_(bench_ids)))
    session.execute(sa.delete(Case).where(Case.tracking_id.like(PREFIX + "%")))
    session.commit()


STATS_INDEX = "ix_complaint_stats"  # migration h21_stats


def shapes(session: Session, now: datetime) -> dict[str, Callable[[], Any]]:
    """The query shapes of `/stats`, each as the endpoint runs it; "(before)": as main ran it before h21."""
    auditor, officer = Actor("bench", "auditor"), Actor("bench.officer", "officer", DINAS[2])
    everything = stats.where(session, auditor, stats.Query())
    one_agency = stats.where(session, officer, stats.Query())
    a_quarter = stats.where(session, auditor, stats.Query(start=date(2026, 4, 1), end=date(2026, 6, 30)))
    public = stats.public_where(stats.Query())
    last_month = places.Period(date(2026, 12, 2), date(2026, 12, 31))

    def public_figures(whole: Callable[[sa.ColumnElement[bool]], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        """As `/public/stats` computes it (before its cache): the figures and the hot spots by area."""

        def run() -> dict[str, Any]:
            figures = whole(public)
            figures["hotspots"] = places.hotspots(session, public, last_month, now, places.Clustering.AREA)
            return figures

        return run

    def after(condition: sa.ColumnElement[bool]) -> dict[str, Any]:
        return stats.stats(session, condition, now)

    def before(condition: sa.ColumnElement[bool]) -> dict[str, Any]:
        """One query per grouping (SQLite's way, PostgreSQL's before h21) over the table: the covering index is
        dropped inside a savepoint that is rolled back (PostgreSQL DDL is transactional)."""
        savepoint = session.begin_nested()
        try:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(sa.text(f"DROP INDEX IF EXISTS {STATS_INDEX}"))
            answer = stats.figures(session, condition, now)[0]
            answer["by_status"] = stats.by_status(session, condition)
            return {**answer, **{group: stats.figures(session, condition, now, group) for group in stats.GROUPS}}
        finally:
            savepoint.rollback()

    def kept(scope: str, condition: sa.ColumnElement[bool]) -> dict[str, Any]:
        """From the snapshot and the changes since (`engine.stats.rollup`), as the endpoints ask for it."""
        return stats.stats(session, condition, now, scope)

    def both(name: str, condition: sa.ColumnElement[bool]) -> dict[str, Callable[[], Any]]:
        return {f"{name} (before)": lambda: before(condition), name: lambda: after(condition)}

    return {
        "overall (one row)": lambda: stats.figures(session, everything, now),
        "by agency": lambda: stats.figures(session, everything, now, "agency"),
        "by category": lambda: stats.figures(session, everything, now, "category"),
        "by kind": lambda: stats.figures(session, everything, now, "kind"),
        "by month": lambda: stats.figures(session, everything, now, "month"),
        **both("whole /stats, auditor", everything),
        "whole /stats, auditor (snapshot + changes)": lambda: kept("all", everything),
        **both("whole /stats, one quarter", a_quarter),
        **both(f"whole /stats, officer of {DINAS[2]}", one_agency),
        "public figures (/public/stats) (before)": public_figures(before),
        "public figures (/public/stats)": public_figures(after),
        "public figures (/public/stats) (snapshot + changes)": public_figures(lambda c: kept("public", c)),
        **hotspots.shapes(session, now),
    }


def snapshot(session: Session, now: datetime, changes: int, seed: int) -> None:
    """Refresh the figures' snapshot (timed), then write `changes` random bench cases as commands would (each
    write logged by the trigger), and check that the kept answer equals the live one."""
    session.commit()
    began = time.perf_counter()
    rollup.refresh(db.engine, now=now)
    click.echo(f"figures' snapshot refreshed in {time.perf_counter() - began:.1f} s (engine.stats.rollup)")
    low, high = session.execute(sa.select(sa.func.min(Case.id), sa.func.max(Case.id))).one()
    picked = random.Random(seed).sample(range(low, high + 1), min(changes, high - low + 1)) if low else []
    ids = session.scalars(sa.text(CHANGE), {"ids": picked, "now": now}).all()
    session.commit()
    everything = stats.where(session, Actor("bench", "auditor"), stats.Query())
    same = stats.stats(session, everything, now, "all") == stats.stats(session, everything, now)
    click.echo(f"{len(ids)} cases written after it; the kept answer equals the live one: {'yes' if same else 'NO'}")
    session.rollback()


CHANGE = """UPDATE complaint SET version = version + 1, status = 'closed', closed_at = :now,
    first_follow_up_at = coalesce(first_follow_up_at, :now),
    followup_working_days = coalesce(followup_working_days, round((random() * 6.5)::numeric, 6)::float8),
    rating = (1 + floor(random() * 5))::int
WHERE id = ANY(:ids) RETURNING id"""


def backend_cpu(session: Session) -> Callable[[], float] | None:
    """A clock of the CPU seconds the session's PostgreSQL backend has used (its /proc entry: a server on this
    machine), or None. Parallel workers are other processes: not counted."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    stat = Path(f"/proc/{session.scalar(sa.select(sa.func.pg_backend_pid()))}/stat")
    if not stat.exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")

    def clock() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)

    return clock


def interleaved(
    session: Session, shapes: dict[str, Callable[[], Any]], repeat: int
) -> dict[str, tuple[float, float, float | None]]:
    """(median wall ms, p95 wall ms, median backend CPU ms) per shape: one warm-up each, then `repeat` rounds
    that run every shape once in turn (so the neighbours' load falls on all of them alike). Each run is its
    own transaction, as a request is."""
    for fn in shapes.values():
        fn()
        session.rollback()
    walls: dict[str, list[float]] = {name: [] for name in shapes}
    cpus: dict[str, list[float]] = {name: [] for name in shapes}
    for _ in range(repeat):
        for name, fn in shapes.items():
            clock = backend_cpu(session)
            cpu = clock() if clock else 0.0
            began = time.perf_counter()
            fn()
            walls[name].append((time.perf_counter() - began) * 1000)
            if clock:
                cpus[name].append((clock() - cpu) * 1000)
            session.rollback()
    answer: dict[str, tuple[float, float, float | None]] = {}
    for name, values in walls.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        answer[name] = (statistics.median(values), p95, statistics.median(cpus[name]) if cpus[name] else None)
    return answer


@bench.command("stats")
@click.option("--cases", default=100_000, show_default=True, help="bench cases to have in the database")
@click.option("--repeat", default=20, show_default=True, help="timed runs per query shape")
@click.option("--seed", default=2026, show_default=True, help="random seed of the synthetic cases")
@click.option("--drop", is_flag=True, help="delete the bench cases afterwards")
@click.option("--only", multiple=True, help="time only the shapes whose name contains this (repeatable)")
@click.option(
    "--changes", default=1000, show_default=True, help="cases written after the figures' snapshot (PostgreSQL)"
)
@with_appcontext
def stats_bench(cases: int, repeat: int, seed: int, drop: bool, only: tuple[str, ...], changes: int) -> None:
    """Time each `/stats` query shape on --cases synthetic cases in the configured database (DATABASE_URL)."""
    from flask_migrate import upgrade

    upgrade()
    session = db.session()
    ensure_directory(session)
    inserted, seconds = top_up(session, cases, seed)
    total = session.scalar(sa.select(sa.func.count()).select_from(Case)) or 0
    click.echo(f"database: {db.engine.url.render_as_string(hide_password=True)}")
    click.echo(
        f"{inserted} synthetic cases bulk-inserted in {seconds:.1f} s directly into the tables (not through the "
        f"workflow: random bytes for state, no events or follow-ups); {total} cases in the database"
    )
    now = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
    if db.engine.dialect.name == "postgresql":
        snapshot(session, now, changes, seed)
    chosen = {name: fn for name, fn in shapes(session, now).items() if not only or any(p in name for p in only)}
    click.echo(f"{'query shape':<52}{'median ms':>11}{'p95 ms':>10}{'PG CPU ms':>11}")
    for name, (median, p95, cpu) in interleaved(session, chosen, repeat).items():
        click.echo(f"{name:<52}{median:>11.1f}{p95:>10.1f}{'' if cpu is None else f'{cpu:.0f}':>11}")
    click.echo(
        f"{repeat} rounds after one warm-up, every shape once per round; 'whole /stats' = overall + 6 groupings + "
        "status counts; (before) = one query per grouping without the covering index; PG CPU = the backend "
        "process only (parallel workers not counted)"
    )
    if drop:
        drop_bench_cases(session)
        click.echo("bench cases deleted")
