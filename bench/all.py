"""`aduan bench all`: every measurement of docs/performance.md in one run on one machine, one table.

(a) raw SpiffWorkflow cost per step of the default diagram and (b) the same steps as engine commands on
SQLite and PostgreSQL (`bench engine`); (c) HTTP under load through gunicorn on PostgreSQL (`bench http`);
(d) the timer sweep at two sizes of open cases (`bench timers`, run as its own command); (e) the inbox at N
open cases (`bench inbox`) and the `/stats` queries at N cases (`bench stats`); (f) the peak RSS of an API
worker and of an rq worker (`bench http`). Then the ratios (b)/(a) and (c)/(a), and the targets.

Every database is a scratch PostgreSQL database the bench creates and drops (`aduan_bench_*`), or a
temporary SQLite file; Redis keys carry a prefix of the run and are deleted. Nothing else is touched.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa

from bench import bench
from bench.http import (
    DEFAULT_REDIS,
    QUICK,
    HttpReport,
    LoadPlan,
    postgres_reachable,
    print_loads,
    redis_reachable,
    run_http,
    scratch_postgres,
)
from engine.db import normalize_url

SERVER = "postgresql://postgres@127.0.0.1:5432/"


@dataclass(frozen=True)
class Sizes:
    engine_cases: int = 200
    http: LoadPlan = field(default_factory=LoadPlan)
    rq_cases: int = 100
    sweep_open: tuple[int, int] = (10_000, 100_000)
    sweep_due: int = 100
    inbox_open: int = 100_000
    stats_cases: int = 100_000
    repeat: int = 300


QUICK_SIZES = Sizes(50, QUICK, 30, (2_000, 10_000), 50, 10_000, 10_000, 30)


@dataclass
class Row:
    part: str
    measure: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, float] = field(default_factory=dict)  # step → median ms
    engine: dict[str, dict[str, float]] = field(default_factory=dict)  # backend → step → median ms
    http: HttpReport | None = None
    failures: list[str] = field(default_factory=list)

    def add(self, part: str, measure: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(part, measure, value, target, met))


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)  # fmt: skip
    return (
        f"{os.cpu_count()} x {cpu}, {memory / 1024 / 1024:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def versions(redis_url: str | None) -> str:
    from importlib.metadata import version

    parts = [f"SpiffWorkflow {version('SpiffWorkflow')}", f"SQLAlchemy {version('SQLAlchemy')}"]
    engine = sa.create_engine(normalize_url(SERVER + "postgres"))
    try:
        with engine.connect() as conn:
            parts.append("PostgreSQL " + str(conn.scalar(sa.text("show server_version"))))
    except sa.exc.SQLAlchemyError:
        pass
    finally:
        engine.dispose()
    if redis_url:
        from redis import Redis

        info = Redis.from_url(redis_url, socket_connect_timeout=1).info("server")
        parts.append(f"Redis {info.get('redis_version')}")
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False, timeout=10)
        parts.append((wrk.stdout or wrk.stderr).split(" [")[0].strip())
    except OSError:
        pass
    return ", ".join(parts)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def part(results: Results, name: str, fn: Callable[[], None]) -> None:
    """Run one part; a failure is reported and the other parts still run."""
    click.echo(f"\n== {name} (load average {load_average()})")
    began = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # report and go on: one broken part must not hide the others' figures
        traceback.print_exc()
        results.failures.append(f"{name}: {type(exc).__name__}: {exc}")
    click.echo(f"   ({time.perf_counter() - began:.0f} s)")


# (a), (b) ---------------------------------------------------------------------------------------------------


def engine_part(results: Results, sizes: Sizes) -> None:
    from bench import engine_steps

    with scratch_postgres(SERVER + "aduan_bench_engine") as url:
        summary = engine_steps.run_engine_bench(sizes.engine_cases, 1, url)
    engine_steps.print_summary(summary, 1, sizes.engine_cases)
    results.raw = {step: summary[engine_steps.RAW][step]["cpu"][0] for step in engine_steps.STEPS}
    for name in ("engine SQLite", "engine PostgreSQL"):
        results.engine[name] = {step: summary[name][step]["cpu"][0] for step in engine_steps.STEPS}
    for step in engine_steps.STEPS:
        results.add("(a)", f"raw SpiffWorkflow: {step}", f"{results.raw[step]:.2f} ms CPU")
    for name in ("engine SQLite", "engine PostgreSQL"):
        for step in engine_steps.STEPS:
            cells = summary[name][step]
            results.add("(b)", f"{name}: {step}", f"{cells['cpu'][0]:.2f} ms CPU, {cells['wall'][0]:.2f} ms wall")


# (c), (f) ---------------------------------------------------------------------------------------------------


def http_part(results: Results, sizes: Sizes, redis_url: str | None) -> None:
    log = Path(tempfile.gettempdir()) / "aduan-bench-http.log"
    report = run_http(SERVER + "aduan_bench_http", redis_url, sizes.http, log, sizes.rq_cases if redis_url else 0)
    print_loads(report)
    results.http = report
    rps_targets = {"intake": 160.0, "complete": 160.0}  # issue 14: ≥ 160/s, p99 < 100 ms at 80 % of it
    for load in report.loads:
        rps_target = rps_targets.get(load.mode)
        results.add(
            "(c)", f"HTTP {load.label}",
            f"{load.rps:.1f}/s, p50 {load.p50_ms:.1f} / p95 {load.p95_ms:.1f} / p99 {load.p99_ms:.1f} ms; "
            f"CPU {load.api_cpu_ms:.1f} + {load.db_cpu_ms:.1f} ms/req (api + PostgreSQL)",
            f"≥ {rps_target:.0f}/s" if rps_target else "", load.rps >= rps_target if rps_target else None,
        )  # fmt: skip
    for rated in report.rated:
        r = rated.result
        results.add(
            "(c)", f"HTTP {rated.label} at a fixed {r.rate:.0f}/s",
            f"p50 {r.p50:.1f} / p90 {r.percentile(90):.1f} / p99 {r.percentile(99):.1f} ms (from the due time)",
            "p99 < 100 ms", r.percentile(99) < 100,
        )  # fmt: skip
    if report.worker_rss_kib:
        rss = ", ".join(f"{k / 1024:.0f}" for k in report.worker_rss_kib)
        results.add("(f)", "peak RSS, gunicorn API workers (after the load)", f"{rss} MiB")
    if report.rq_worker:
        rq = report.rq_worker
        results.add(
            "(f)", f"peak RSS, rq worker ({rq.fired} timer jobs + notifications)", f"{rq.peak_rss_kib / 1024:.0f} MiB"
        )


# (d) --------------------------------------------------------------------------------------------------------

SWEEP_PATTERNS = {
    "none": re.compile(r"sweep select, none due:\s+([0-9.]+) ms"),
    "due": re.compile(r"sweep select, (\d+) due:\s+([0-9.]+) ms"),
    "enqueue": re.compile(r"sweep select \+ enqueue (\d+):\s+([0-9.]+) ms"),
    "lateness": re.compile(r"lateness[^:]*:\s+median ([0-9.]+) ms, p95 ([0-9.]+) ms, max ([0-9.]+) ms"),
}


def sweep_part(results: Results, sizes: Sizes, redis_url: str | None) -> None:
    """`aduan bench timers` (another module's command, run as it is) at each size; its figures parsed."""
    selects: dict[int, float] = {}
    for open_cases in sizes.sweep_open:
        with scratch_postgres(SERVER + "aduan_bench_sweep") as url:
            argv = [sys.executable, "-m", "api.cli", "bench", "timers", "--open", str(open_cases),
                    "--due", str(sizes.sweep_due), "--database", url]  # fmt: skip
            if redis_url:
                argv += ["--redis", redis_url]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
        output = done.stdout
        click.echo(output.rstrip())
        if done.returncode != 0:
            raise click.ClickException(f"bench timers --open {open_cases} failed: {done.stderr[-2000:]}")
        found = {name: pattern.search(output) for name, pattern in SWEEP_PATTERNS.items()}
        if found["none"]:
            results.add("(d)", f"sweep select, {open_cases} open, none due", f"{float(found['none'].group(1)):.1f} ms")
        if found["due"]:
            selects[open_cases] = float(found["due"].group(2))
            results.add(
                "(d)", f"sweep select, {open_cases} open, {found['due'].group(1)} due", f"{selects[open_cases]:.1f} ms"
            )
        if found["enqueue"]:
            n, ms = found["enqueue"].group(1), float(found["enqueue"].group(2))
            results.add("(d)", f"sweep select + enqueue {n} to rq, {open_cases} open", f"{ms:.1f} ms")
        if found["lateness"]:
            median, p95, top = found["lateness"].groups()
            results.add(
                "(d)", f"timer lateness due → fired, {open_cases} open", f"median {median} / p95 {p95} / max {top} ms"
            )
    if len(selects) == 2:
        small, large = sorted(selects)
        ratio = selects[large] / selects[small] if selects[small] else float("inf")
        measure = f"sweep select {large} / {small} open (same due)"
        results.add("(d)", measure, f"{ratio:.2f}x", "about 1x (independent of open)", ratio < 2.0)


# (e) --------------------------------------------------------------------------------------------------------


def inbox_part(results: Results, sizes: Sizes) -> None:
    from bench.inbox import print_inbox, run_inbox

    report = run_inbox(SERVER + "aduan_bench_inbox", sizes.inbox_open, sizes.repeat, sizes.http.duration / 2)
    print_inbox(report)
    for timing in report.timings:
        index = report.index_used.get(timing.name, "?")
        results.add(
            "(e)", f"{timing.name} at {report.open_cases} open ({timing.matching} match; {index})",
            f"p50 {timing.median:.1f} / p95 {timing.pct(95):.1f} / p99 {timing.pct(99):.1f} ms",
            "p99 < 50 ms", timing.pct(99) < 50,
        )  # fmt: skip
    for load in report.http:
        results.add("(e)", f"HTTP GET /tasks at {report.open_cases} open, {load.note}",
                    f"{load.rps:.1f}/s, p50 {load.p50_ms:.1f} / p99 {load.p99_ms:.1f} ms", "p99 < 50 ms",
                    load.p99_ms < 50)  # fmt: skip


def stats_part(results: Results, sizes: Sizes) -> None:
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from bench import stats_queries

    with scratch_postgres(SERVER + "aduan_bench_stats") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "bench-stats"})
        with app.app_context():
            upgrade()
            session = db.session()
            stats_queries.ensure_directory(session)
            inserted, seconds = stats_queries.top_up(session, sizes.stats_cases, 2026)
            click.echo(f"{inserted} synthetic cases bulk-inserted in {seconds:.0f} s")
            now = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
            repeat = max(5, sizes.repeat // 5)
            for name, (median, p95, _) in stats_queries.interleaved(
                session, stats_queries.shapes(session, now), repeat
            ).items():
                click.echo(f"  {name:<52}{median:>10.1f}{p95:>10.1f} ms")
                if name.startswith("whole /stats"):
                    results.add("(e)", f"{name} at {sizes.stats_cases} cases", f"p50 {median:.1f} / p95 {p95:.1f} ms")
            db.session.remove()
            db.engine.dispose()


# The table --------------------------------------------------------------------------------------------------


def ratios(results: Results) -> None:
    from bench.engine_steps import STEPS

    for backend, steps in results.engine.items():
        for step in STEPS:
            if results.raw.get(step):
                ratio = steps[step] / results.raw[step]
                target = 2.5 if step in ("fire timers", "complete respond", "reply") else 2.0
                results.add("(b)/(a)", f"{backend}: {step}", f"{ratio:.1f}x CPU", f"≤ {target}x", ratio <= target)
    if results.http:
        pairs = {"intake": "start", "complete": "complete verify"}
        for load in results.http.loads:
            raw_step = pairs.get(load.mode)
            if raw_step and results.raw.get(raw_step):
                ratio = load.p50_ms / results.raw[raw_step]
                results.add("(c)/(a)", f"HTTP p50 {load.label} / raw {raw_step}", f"{ratio:.1f}x")


def print_summary(results: Results, header: list[str]) -> None:
    click.echo("\n" + "=" * 110)
    for line in header:
        click.echo(line)
    width = max((len(r.measure) for r in results.rows), default=40) + 2
    values = max((len(r.value) for r in results.rows), default=40) + 2
    click.echo(f"{'part':<8}{'measure':<{width}}{'value':<{values}}target")
    for row in results.rows:
        verdict = "" if row.met is None else ("  met" if row.met else "  MISSED")
        click.echo(f"{row.part:<8}{row.measure:<{width}}{row.value:<{values}}{row.target}{verdict}")
    for failure in results.failures:
        click.echo(f"FAILED  {failure}")


@bench.command("all")
@click.option("--quick", is_flag=True, help="small sizes: a few minutes instead of a quarter of an hour")
@click.option("--redis", "redis_url", default=DEFAULT_REDIS, show_default=True, help="Redis URL ('' for none)")
@click.option("--only", default="abcdef", show_default=True, help="parts to run, e.g. 'ab' or 'ce'")
def bench_all(quick: bool, redis_url: str, only: str) -> None:
    """(a)…(f) on this machine in one run: SpiffWorkflow raw vs engine, HTTP load, sweep, inbox, stats, RSS."""
    sizes = QUICK_SIZES if quick else Sizes()
    if not postgres_reachable(SERVER + "postgres"):
        raise click.ClickException(f"PostgreSQL is unreachable at {SERVER}")
    redis = redis_url if redis_url and redis_reachable(redis_url) else None
    started = datetime.now(UTC)
    header = [
        f"aduan bench all{' --quick' if quick else ''}, {started:%Y-%m-%d %H:%M} UTC",
        f"machine: {machine()}",
        f"software: {versions(redis)}",
        f"load average at the start: {load_average()} (other work on the machine shows here: figures are noisy)",
    ]
    click.echo("\n".join(header))
    results = Results()
    if "a" in only or "b" in only:
        part(results, "(a) raw SpiffWorkflow, (b) engine on SQLite and PostgreSQL", lambda: engine_part(results, sizes))
    if "c" in only or "f" in only:
        part(results, "(c) HTTP under load, (f) peak RSS", lambda: http_part(results, sizes, redis))
    if "d" in only:
        part(results, "(d) timer sweep", lambda: sweep_part(results, sizes, redis))
    if "e" in only:
        part(results, "(e) inbox", lambda: inbox_part(results, sizes))
        part(results, "(e) stats queries", lambda: stats_part(results, sizes))
    ratios(results)
    header.append(f"load average at the end: {load_average()}; took {(datetime.now(UTC) - started).seconds // 60} min")
    print_summary(results, header)
