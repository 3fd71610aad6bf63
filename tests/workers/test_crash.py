"""Crashes and concurrency with real processes: rq workers and schedulers as `aduan` subprocesses.

A worker SIGKILLed in the middle of a timer job loses nothing and duplicates nothing: its transaction dies
with it, the scheduler sees the case still due and the job stale, and another worker fires it, once.
Two schedulers and two workers on the same due set — with extra duplicate jobs thrown in — escalate each
case exactly once.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from rq import Queue

from api import host_of
from api.extensions import db
from tests.workers.conftest import (
    Processes,
    escalations,
    fired_events,
    process_env,
    still_due,
    submit_due_case,
    wait_until,
)
from workers import scheduler
from workers.queue import connect, queue_names
from workers.timers import fire_case_timers


def test_a_worker_killed_mid_job_leaves_the_timer_to_fire_once(
    rq_app: Flask, processes: Processes, tmp_path: Path
) -> None:
    case_id = submit_due_case(db.session())
    db.session.remove()
    assert scheduler.run_once(host_of(rq_app)).timers == 1
    hang = tmp_path / "hanging"
    env = process_env(rq_app, ADUAN_TEST_HANG_FILE=str(hang))
    name = f"{rq_app.config['QUEUE_PREFIX']}-crashing"
    worker = processes.start(
        ["-m", "tests.workers.crashing_worker", "worker", "--burst", "--name", name], env, tmp_path / "w1.log"
    )
    wait_until(hang.exists, 60, "the worker to reach the middle of the job")
    processes.kill(worker)

    session = db.session()
    assert still_due(session, [case_id]) == [case_id]  # nothing of the half-done firing survived
    assert (escalations(session, case_id), fired_events(session, case_id)) == (0, [])
    db.session.remove()

    time.sleep(1.2)  # TIMER_JOB_STALE_SECONDS=1: the dead worker's job is now stale
    assert scheduler.run_once(host_of(rq_app)).timers == 1  # enqueued again, under the same job id
    rescuer = processes.start(["-m", "api.cli", "worker", "--burst"], process_env(rq_app), tmp_path / "w2.log")
    assert rescuer.wait(timeout=120) == 0, (tmp_path / "w2.log").read_text()

    session = db.session()
    assert still_due(session, [case_id]) == []
    assert escalations(session, case_id) == 1
    [event] = fired_events(session, case_id)
    assert event.data["elements"].count("flag_verify_breach") == 1
    assert scheduler.run_once(host_of(rq_app)).timers == 0
    assert fire_case_timers(case_id) is False


def test_two_schedulers_and_two_workers_escalate_each_case_once(
    rq_app: Flask, processes: Processes, tmp_path: Path
) -> None:
    cases = [submit_due_case(db.session()) for _ in range(12)]
    db.session.remove()
    # duplicates that bypass the job-id deduplication: correctness must not depend on it
    queue = Queue(queue_names(rq_app.config)[0], connection=connect(rq_app.config["REDIS_URL"]))
    for case_id in cases:
        queue.enqueue(fire_case_timers, case_id, job_id=f"{queue.name}-duplicate{case_id}")
    env = process_env(rq_app)
    for n in (1, 2):
        processes.start(["-m", "api.cli", "worker", "--name", f"{rq_app.config['QUEUE_PREFIX']}-w{n}"], env,
                        tmp_path / f"worker{n}.log")  # fmt: skip
    for n in (1, 2):
        processes.start(["-m", "api.cli", "scheduler", "--interval", "0.2"], env, tmp_path / f"scheduler{n}.log")

    def settled() -> bool:
        try:
            return still_due(db.session(), cases) == [] and len(queue) == 0
        finally:
            db.session.remove()

    wait_until(settled, 120, "every due case to be fired")
    time.sleep(1.0)  # let the schedulers sweep a few more times over the now-quiet set
    processes.stop_all()
    session = db.session()
    assert [escalations(session, case_id) for case_id in cases] == [1] * len(cases)
    assert [len(fired_events(session, case_id)) for case_id in cases] == [1] * len(cases)
