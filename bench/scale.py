"""`aduan bench scale`: the same commands on a database of few cases and on one of many (issue 14).

Two scratch PostgreSQL databases (`<name>_<small>` and `<name>_<large>`, created and dropped) get the demo
directory and then `--small` and `--large` synthetic cases bulk-inserted straight into the tables, as
`aduan bench stats` does (a mix of open and closed cases over a year, 3 KB of random bytes standing in
for the workflow state, a READY task for the open ones), plus four audit events and two sent outbox rows
per case, so that every table and index a command writes to has grown. Both are vacuumed and analysed
alike. Then the five commands of `aduan bench engine` (start, complete verify, fire timers, complete
respond, reply) run on new cases of both databases, interleaved case by case (the order rotating), each
counted: client CPU, wall and PostgreSQL round trips (BEGIN and COMMIT included).

Target: every command on the large database within 1.1x its cost on the small one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
import sqlalchemy as sa

from bench import bench
from bench.engine_steps import STEPS, Cost, Engine, interleaved
from bench.http import scratch_postgres

EVENTS_PER_CASE = 4
OUTBOX_PER_CASE = 2
# server-side fills: one statement per table, whatever the number of cases (chain hashes are bytea, h21_storage)
FILL_EVENTS = """
insert into event (case_id, seq, at, type, actor, actor_role, task, data, prev_hash, hash)
select c.id, s, c.created_at, 'bench', 'system', 'system', null, '{"bench": true}',
       decode(md5(c.id::text || ':' || (s - 1)) || md5((s - 1)::text), 'hex'),
       decode(md5(c.id::text || ':' || s) || md5(s::text), 'hex')
from complaint c cross join generate_series(1, :per_case) s
where c.tracking_id like 'BENCH-%'
"""
FILL_OUTBOX = """
insert into outbox (case_id, event_seq, kind, channel, recipient, payload, status, attempts, next_attempt_at,
                    last_error, created_at, sent_at)
select c.id, s, 'notification', 'email', 'warga@example.org', '{"template": "bench"}', 'sent', 1, c.created_at,
       null, c.created_at, c.created_at
from complaint c cross join generate_series(1, :per_case) s
where c.tracking_id like 'BENCH-%'
"""
FILLED_TABLES = ("complaint", "task", "event", "outbox")


@dataclass
class Tally:
    """Statements (round trips) sent to the database while `on`."""

    on: bool = False
    count: int = 0

    def statement(self, *args: Any) -> None:
        if self.on:
            self.count += 1


class Counted(Engine):
    """An engine subject whose measured commands also count their round trips, per step."""

    def __init__(self, name: str, url: str) -> None:
        super().__init__(name, url)
        self.tally = Tally()
        self.trips: dict[str, list[int]] = {step: [] for step in STEPS}
        with self.app.app_context():
            engine = self.db.engine
        for event in ("before_cursor_execute", "begin", "commit", "rollback"):
            sa.event.listen(engine, event, self.tally.statement)

    def run(self, step: str, i: int, cost: Cost) -> None:
        """Engine.run, with each command counted; the lookup of the task or case beforehand is committed, so
        that the command opens its own transaction (its BEGIN counts) as a request's command does."""
        measure = cost.measure

        def counted(fn: Callable[[], Any]) -> Any:
            self.db.session.commit()  # inside Engine.run's app context: ends the lookup's transaction
            self.tally.on, self.tally.count = True, 0
            try:
                return measure(fn)
            finally:
                self.tally.on = False
                self.trips[step].append(self.tally.count)

        cost.measure = counted  # type: ignore[method-assign]
        try:
            super().run(step, i, cost)
        finally:
            del cost.measure

    def fill(self, cases: int, seed: int) -> float:
        """Bulk-insert `cases` synthetic cases with their tasks, events and outbox rows; the seconds it took."""
        from bench import stats_queries

        began = time.perf_counter()
        with self.app.app_context():
            session = self.db.session()
            stats_queries.ensure_directory(session)
            stats_queries.top_up(session, cases, seed)
            session.execute(sa.text(FILL_EVENTS), {"per_case": EVENTS_PER_CASE})
            session.execute(sa.text(FILL_OUTBOX), {"per_case": OUTBOX_PER_CASE})
            session.commit()
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in FILLED_TABLES:
                    conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
            self.db.session.remove()
        return time.perf_counter() - began

    def rows(self) -> dict[str, int]:
        with self.app.app_context():
            session = self.db.session()
            counts = {t: int(session.scalar(sa.text(f"select count(*) from {t}")) or 0) for t in FILLED_TABLES}
            self.db.session.remove()
        return counts


@dataclass
class StepFigures:
    """One step on one database: the medians of each run (ms) and every command's round trips."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    trips: list[int] = field(default_factory=list)


@dataclass
class ScaleReport:
    sizes: tuple[int, int]
    rows: list[dict[str, int]]
    fill_seconds: list[float]
    figures: list[dict[str, StepFigures]]  # small, large: step -> figures
    cases: int
    runs: int


@contextmanager
def two_databases(url: str, small: int, large: int) -> Iterator[tuple[str, str]]:
    with scratch_postgres(f"{url}_{small}") as small_url, scratch_postgres(f"{url}_{large}") as large_url:
        yield small_url, large_url


def run_scale(url: str, small: int, large: int, cases: int, runs: int, seed: int = 2026) -> ScaleReport:
    with two_databases(url, small, large) as (small_url, large_url):
        subjects = [Counted(f"{small} cases", small_url), Counted(f"{large} cases", large_url)]
        try:
            fill = [subject.fill(n, seed) for subject, n in zip(subjects, (small, large), strict=True)]
            rows = [subject.rows() for subject in subjects]
            interleaved(subjects, min(cases, 10))  # warm-up: parsed specs, configuration snapshot, pools
            for subject in subjects:
                subject.trips = {step: [] for step in STEPS}
            figures: list[dict[str, StepFigures]] = [{s: StepFigures() for s in STEPS} for _ in subjects]
            for _ in range(runs):
                costs = interleaved(subjects, cases)
                for subject, out in zip(subjects, figures, strict=True):
                    for step in STEPS:
                        out[step].cpu.append(costs[subject.name][step].cpu.median_ms)
                        out[step].wall.append(costs[subject.name][step].wall.median_ms)
            for subject, out in zip(subjects, figures, strict=True):
                for step in STEPS:
                    out[step].trips = subject.trips[step]
        finally:
            for subject in subjects:
                subject.close()
    return ScaleReport((small, large), rows, fill, figures, cases, runs)


def ratio_cell(small: list[float], large: list[float]) -> str:
    """Median of the runs' ratios (large ÷ small), with the lowest and highest run."""
    ratios = [b / a for a, b in zip(small, large, strict=True) if a]
    return f"{statistics.median(ratios):4.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"


def print_scale(report: ScaleReport) -> None:
    small, large = report.sizes
    for n, rows, seconds in zip(report.sizes, report.rows, report.fill_seconds, strict=True):
        listed = ", ".join(f"{table} {count}" for table, count in rows.items())
        click.echo(f"{n} cases: filled in {seconds:.0f} s (rows: {listed})")
    click.echo(
        f"\n{report.runs} runs x {report.cases} commands per step and database, interleaved (order rotating per "
        "case); median of the runs' medians; ratio = large ÷ small per run, median [lowest-highest run]"
    )
    click.echo(
        f"{'step':<18}{'CPU ms ' + str(small):>14}{'CPU ms ' + str(large):>16}{'CPU ratio':>22}"
        f"{'wall ratio':>22}{'round trips':>14}"
    )
    few, many = report.figures
    for step in STEPS:
        a, b = few[step], many[step]
        trips = f"{statistics.median(a.trips):.0f} / {statistics.median(b.trips):.0f}"
        click.echo(
            f"{step:<18}{statistics.median(a.cpu):>14.2f}{statistics.median(b.cpu):>16.2f}"
            f"{ratio_cell(a.cpu, b.cpu):>22}{ratio_cell(a.wall, b.wall):>22}{trips:>14}"
        )
    worst = max(statistics.median([y / x for x, y in zip(few[s].cpu, many[s].cpu, strict=True)]) for s in STEPS)
    verdict = "met" if worst <= 1.1 else "MISSED"
    target = f"commands at {large} cases within 1.1x of {small} (client CPU)"
    click.echo(f"\ntarget: {target}: worst {worst:.2f}x, {verdict}")


@bench.command("scale")
@click.option("--small", default=1_000, show_default=True, help="cases in the small database")
@click.option("--large", default=100_000, show_default=True, help="cases in the large database")
@click.option("--cases", default=50, show_default=True, help="commands per step, run and database")
@click.option("--runs", default=3, show_default=True, help="runs (each with new cases)")
@click.option(
    "--postgres-url",
    default="postgresql://postgres@127.0.0.1:5432/aduan_bench_scale",
    show_default=True,
    help="base name of two scratch databases (<name>_<small>, <name>_<large>): dropped and re-created",
)
def scale_bench(small: int, large: int, cases: int, runs: int, postgres_url: str) -> None:
    """Per-command client CPU, wall and round trips on a database of --small cases against one of --large,
    interleaved in one process."""
    if small >= large:
        raise click.BadParameter("--small must be below --large", param_hint="--small")
    print_scale(run_scale(postgres_url, small, large, cases, runs))
