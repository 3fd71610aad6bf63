"""Peak memory of the production processes: an API (gunicorn) worker and an rq worker.

The gunicorn figure is read from /proc (VmHWM) by `aduan bench http` after its load runs. The rq figure
comes from here: the timers of N cases of the HTTP bench's scratch database are moved to the past, one
scheduler sweep enqueues them to rq, and `aduan worker --burst` fires them all (and delivers the
notifications the firings send) until its queues are empty; its peak RSS is the `ru_maxrss` the kernel
reports when it exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from api import host_of


@dataclass
class WorkerRun:
    peak_rss_kib: int
    fired: int
    seconds: float
    exit_code: int


def make_due(database: str, count: int) -> list[int]:
    """Move every waiting timer of up to `count` cases to one second ago; returns their ids."""
    from api import create_app
    from api.extensions import db
    from engine.cases import lifecycle
    from engine.cases.case import Case
    from engine.db import utcnow
    from engine.processes import serialization

    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": None, "SECRET_KEY": "bench-due"})
    with app.app_context():
        session, settings = db.session(), app.extensions["aduan.settings"]
        query = sa.select(Case.id).where(Case.next_timer_at.is_not(None)).order_by(Case.id).limit(count)
        ids = list(session.scalars(query))
        past = utcnow() - timedelta(seconds=1)
        for case_id in ids:
            case = session.get_one(Case, case_id)
            run = lifecycle._restore(session, case, settings)
            for task in run.wf.get_tasks(state=TaskState.WAITING):
                if isinstance(task.internal_data.get("event_value"), str):
                    task.internal_data["event_value"] = past.isoformat()
            case.state, case.next_timer_at = serialization.dump(run.wf), past
            session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


def enqueue_due(database: str, redis_url: str, prefix: str) -> int:
    """One scheduler sweep through rq: a timer job per due case; returns how many were enqueued."""
    from api import create_app
    from api.extensions import db
    from workers.queue import RqDispatcher
    from workers.scheduler import sweep_timers

    config = {"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": redis_url, "QUEUE_PREFIX": prefix}
    app = create_app({**config, "SECRET_KEY": "bench-due"})
    with app.app_context():
        handed = sweep_timers(host_of(app), RqDispatcher(app.config))
        db.session.remove()
        db.engine.dispose()
    return handed


def burst_worker(env: dict[str, str], log: Path) -> tuple[int, int, float]:
    """Run `aduan worker --burst` to the end; (exit code, peak RSS in KiB, seconds)."""
    began = time.perf_counter()
    with open(log, "ab") as out:
        argv = [sys.executable, "-m", "api.cli", "worker", "--burst"]
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return proc.returncode, int(usage.ru_maxrss), time.perf_counter() - began


def rq_worker_peak_rss(database: str, redis_url: str, prefix: str, env: dict[str, str], cases: int) -> WorkerRun:
    """Peak RSS of an rq worker that fired the timers of `cases` cases (and sent their notifications)."""
    from bench.http import clear_queue_keys

    clear_queue_keys(redis_url, prefix)  # what the HTTP load left queued is not this measurement's
    make_due(database, cases)
    handed = enqueue_due(database, redis_url, prefix)
    code, rss, seconds = burst_worker(env, Path(os.environ.get("TMPDIR", "/tmp")) / "aduan-bench-rq.log")
    return WorkerRun(rss, handed, seconds, code)
