"""`aduan bench timers`: what a timer sweep costs and how late timers fire, at N open cases of which M are due.

The M due cases are real cases made through the engine (firing one runs the verification reminder and
breach: an escalation task, the `escalated` flag, notifications); the other N - M are cheap synthetic rows
whose `next_timer_at` lies days ahead. The sweep reads the `next_timer_at` index only, so its cost should
follow M and not N: compare a run at 10 000 with one at 100 000 open cases and the same M.

Measured: the sweep's select alone (keyset pages, `FOR UPDATE SKIP LOCKED` on PostgreSQL), select +
enqueue to rq (with `--redis`), select + fire inline; and lateness, due → fired, of M timers falling due
over `--spread` seconds while the scheduler loop runs every `--interval` seconds (inline, or enqueueing to
`--workers` `aduan worker` processes with `--redis`). Use a scratch database: the bench drops its schema.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask
from SpiffWorkflow.util.task import TaskState

from api import host_of
from api.extensions import db
from bench import bench
from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.case import Case, Status
from engine.db import normalize_url, utcnow
from engine.directory import demo
from engine.processes import registry as processes
from engine.processes import serialization

DEMO_PASSWORD = "bench-password-1"
CHUNK = 5000


def _app(url: str, redis: str | None, prefix: str) -> Flask:
    from api import create_app

    config = {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis, "QUEUE_PREFIX": prefix, "SECRET_KEY": "bench"}
    return create_app({**config, "OUTBOX_RELAY_AFTER_SECONDS": 3600})  # notifications are not measured here


def _reset(app: Flask) -> None:
    """An empty, migrated schema with the demo directory (drops whatever the scratch database held)."""
    from flask_migrate import upgrade

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade()
    demo.seed(db.session(), DEMO_PASSWORD)
    db.session.commit()


def _real_cases(app: Flask, count: int) -> list[int]:
    sub = lifecycle.Submission(title="Lampu jalan mati", body="Gelap sejak dua minggu.", category="kebersihan")
    settings = app.extensions["aduan.settings"]
    return [lifecycle.start_case(db.session(), sub, settings=settings).case.id for _ in range(count)]


def _set_due(app: Flask, case_ids: list[int], due: Callable[[int], datetime]) -> None:
    """Move every waiting timer of each case to `due(i)` (the reminder and the breach fall due together)."""
    session, settings = db.session(), app.extensions["aduan.settings"]
    for i, case_id in enumerate(case_ids):
        case = session.get_one(Case, case_id)
        run = lifecycle._restore(session, case, settings)
        for task in run.wf.get_tasks(state=TaskState.WAITING):
            if isinstance(task.internal_data.get("event_value"), str):
                task.internal_data["event_value"] = due(i).isoformat()
        case.state = serialization.dump(run.wf)
        case.next_timer_at = due(i)
    session.commit()


def _synthetic_row(n: int, version_id: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    return {
        "tracking_id": f"BEN-{n:010d}", "reporter_token_hash": "-", "process_version_id": version_id,
        "serializer_version": "-", "state": b"", "status": Status.SUBMITTED, "desk": "batam.diskominfo",
        "title": "synthetic", "body": "-", "created_at": now, "updated_at": now,
        "next_timer_at": now + timedelta(days=1, seconds=rng.randrange(30 * 86400)),
    }  # fmt: skip


def _synthetic(count: int) -> None:
    """`count` open cases whose next timer is 1 to 30 days ahead (never due during the bench)."""
    session, now = db.session(), utcnow()
    version = processes.active_version(session, processes.DEFAULT_KEY)
    assert version is not None
    rng = random.Random(7)
    for start in range(0, count, CHUNK):
        rows = [_synthetic_row(n, version.id, now, rng) for n in range(start, min(start + CHUNK, count))]
        session.execute(sa.insert(Case), rows)
        session.commit()
    with db.engine.begin() as conn:  # fresh statistics, as autovacuum would gather them on a live table
        conn.execute(sa.text("ANALYZE complaint" if conn.dialect.name == "postgresql" else "ANALYZE"))


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `fn` in milliseconds over `repeat` runs, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def _select_all_due(app: Flask) -> int:
    from workers.scheduler import claim_due

    session, now, batch = db.session(), utcnow(), int(app.config["SWEEP_BATCH"])
    found, after = 0, None
    while True:
        rows = claim_due(session, now, batch, after)
        session.rollback()
        found += len(rows)
        if len(rows) < batch:
            return found
        after = (rows[-1][1], rows[-1][0])


def _clear_queues(app: Flask) -> None:
    from workers.queue import connect

    redis = connect(app.config["REDIS_URL"])
    keys = list(redis.scan_iter(match=f"*{app.config['QUEUE_PREFIX']}*", count=1000))
    if keys:
        redis.delete(*keys)


def _lateness(case_ids: list[int]) -> list[float]:
    """Seconds from each case's due time to its `timer_fired` event."""
    query = sa.select(audit.Event).where(audit.Event.case_id.in_(case_ids), audit.Event.type == "timer_fired")
    return [(e.at - datetime.fromisoformat(e.data["due_at"])).total_seconds() for e in db.session.scalars(query)]


def _workers_ready(app: Flask, count: int, timeout: float = 120) -> None:
    from rq import Queue, Worker

    from workers.queue import connect, queue_names

    queue = Queue(queue_names(app.config)[0], connection=connect(app.config["REDIS_URL"]))
    deadline = time.monotonic() + timeout
    while Worker.count(queue=queue) < count:
        if time.monotonic() > deadline:
            raise click.ClickException(f"{count} workers did not start within {timeout:g} s")
        time.sleep(0.2)


def _workers(app: Flask, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "ADUAN_QUEUE_PREFIX": app.config["QUEUE_PREFIX"], "SECRET_KEY": "bench"}  # fmt: skip
    log = open(os.devnull, "wb")  # noqa: SIM115  (lives as long as the workers)
    cmd = [sys.executable, "-m", "api.cli", "worker"]
    procs = [subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True) for _ in range(count)]
    _workers_ready(app, count)
    return procs


def _run_lateness(app: Flask, case_ids: list[int], interval: float, spread: float, workers: int) -> list[float]:
    from workers import scheduler

    procs = _workers(app, workers) if app.config.get("REDIS_URL") else []  # up before the first timer is due
    start = utcnow() + timedelta(seconds=3)
    _set_due(app, case_ids, lambda i: start + timedelta(seconds=spread * i / max(len(case_ids), 1)))
    stop = threading.Event()
    loop = threading.Thread(target=scheduler.run, args=(host_of(app), interval, stop), daemon=True)
    loop.start()
    deadline = time.monotonic() + spread + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            db.session.remove()
            remaining = db.session.scalar(
                sa.select(sa.func.count()).where(Case.id.in_(case_ids), Case.next_timer_at.is_not(None))
            )
            if not remaining:
                break
    finally:
        stop.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    db.session.remove()
    return _lateness(case_ids)


def _ms(values: list[float]) -> str:
    if not values:
        raise click.ClickException("no timer fired: the scheduler loop did not run (see its log above)")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


@bench.command("timers")
@click.option("--open", "open_cases", default=10_000, show_default=True, help="open cases in all (N)")
@click.option("--due", "due_cases", default=100, show_default=True, help="of which due at the sweep (M)")
@click.option("--database", default=None, help="scratch database URL (default: a new SQLite file); DROPPED")
@click.option("--redis", default=None, help="Redis URL: also measure enqueueing, and lateness through rq workers")
@click.option("--workers", default=2, show_default=True, help="`aduan worker` processes for --redis lateness")
@click.option("--interval", default=1.0, show_default=True, help="scheduler loop interval (seconds)")
@click.option("--spread", default=5.0, show_default=True, help="the M lateness timers fall due over these seconds")
@click.option("--repeat", default=5, show_default=True)
def bench_timers(
    open_cases: int, due_cases: int, database: str | None, redis: str | None, workers: int,
    interval: float, spread: float, repeat: int,
) -> None:  # fmt: skip
    """Sweep time and timer lateness (due → fired) at N open cases, M of them due."""
    if due_cases * 2 > open_cases:
        raise click.ClickException("--open must be at least twice --due (two sets of real due cases)")
    url = normalize_url(database or "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench-timers.sqlite3"))
    app = _app(url, redis, f"bench{os.getpid()}")
    with app.app_context():
        _reset(app)
        began = time.perf_counter()
        swept, timed = _real_cases(app, due_cases), _real_cases(app, due_cases)
        _synthetic(open_cases - 2 * due_cases)
        db.session.remove()
        click.echo(f"{db.engine.dialect.name}: {open_cases} open cases, {due_cases} due "
                   f"(set up in {time.perf_counter() - began:.0f} s)")  # fmt: skip
        none_ms, _ = _timed(lambda: _select_all_due(app), repeat)
        click.echo(f"  sweep select, none due:        {none_ms:8.1f} ms")
        _set_due(app, swept, lambda i: utcnow() - timedelta(seconds=1))
        select_ms, found = _timed(lambda: _select_all_due(app), repeat)
        click.echo(f"  sweep select, {found} due:       {select_ms:8.1f} ms")
        _sweeps(app, redis, repeat)
        lateness = _run_lateness(app, timed, interval, spread, workers)
        mode = f"rq, {workers} workers" if redis else "inline"
        click.echo(f"  lateness due → fired ({len(lateness)} timers, {mode}, interval {interval:g} s): {_ms(lateness)}")


def _sweeps(app: Flask, redis: str | None, repeat: int) -> None:
    from workers.queue import InlineDispatcher, RqDispatcher
    from workers.scheduler import sweep_timers

    if redis:
        dispatcher = RqDispatcher(app.config)

        def enqueue() -> int:
            _clear_queues(app)
            return sweep_timers(host_of(app), dispatcher)

        enqueue_ms, handed = _timed(enqueue, repeat)
        _clear_queues(app)
        click.echo(f"  sweep select + enqueue {handed}:   {enqueue_ms:8.1f} ms")
    fire_ms, fired = _timed(lambda: sweep_timers(host_of(app), InlineDispatcher()), 1)
    per_case = fire_ms / fired if fired else 0.0
    click.echo(f"  sweep select + fire {fired} inline: {fire_ms:8.1f} ms ({per_case:.1f} ms per case)")
