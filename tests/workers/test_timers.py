"""Timer jobs and the scheduler against real Redis: one job per batch of due cases (each case marked with
it), idempotent firing, SKIP LOCKED, batches that fall back to one case at a time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from rq import Queue

from api import host_of
from api.extensions import db
from engine.cases.case import Case
from tests.conftest import seeded
from tests.workers.conftest import escalations, fired_events, make_app, submit_due_case
from workers import scheduler
from workers.queue import InlineDispatcher, RqDispatcher, connect, queue_names, timer_key
from workers.timers import fire_case_timers
from workers.worker import HostWorker


def timer_queue(app: Flask) -> Queue:
    return Queue(queue_names(app.config)[0], connection=connect(app.config["REDIS_URL"]))


def burst(app: Flask) -> None:
    """Run an rq worker of `app`'s queues in this process until they are empty."""
    connection = connect(app.config["REDIS_URL"])
    worker = HostWorker([Queue(n, connection=connection) for n in queue_names(app.config)], connection=connection)
    worker.host = host_of(app)
    worker.work(burst=True)


def test_the_scheduler_enqueues_each_due_case_once_and_a_worker_fires_it(rq_app: Flask) -> None:
    session = db.session()
    due = [submit_due_case(session) for _ in range(3)]
    submit_due_case(session, days_ago=0)  # not due yet
    assert scheduler.run_once(host_of(rq_app)).timers == 3
    assert scheduler.run_once(host_of(rq_app)).timers == 0  # the same deadlines are already queued
    queue = timer_queue(rq_app)
    [job] = queue.jobs  # the three in one batch (TIMER_BATCH 25)
    assert sorted(case_id for case_id, _ in job.args[0]) == sorted(due)
    marks = [
        queue.connection.get(timer_key(queue.name, case_id, db.session.get_one(Case, case_id).next_timer_at))
        for case_id in due
    ]
    assert marks == [job.id.encode()] * 3
    burst(rq_app)
    session = db.session()
    assert [escalations(session, case_id) for case_id in due] == [1, 1, 1]
    assert [len(fired_events(session, case_id)) for case_id in due] == [1, 1, 1]
    assert all(session.get_one(Case, case_id).escalated for case_id in due)
    assert scheduler.run_once(host_of(rq_app)).timers == 0


def test_the_scheduler_hands_due_cases_on_timer_batch_at_a_time(rq_app: Flask) -> None:
    rq_app.config["TIMER_BATCH"] = 2
    due = [submit_due_case(db.session()) for _ in range(5)]
    db.session.remove()
    assert scheduler.run_once(host_of(rq_app)).timers == 5
    queue = timer_queue(rq_app)
    assert sorted(len(job.args[0]) for job in queue.jobs) == [1, 2, 2]
    assert sorted(case_id for job in queue.jobs for case_id, _ in job.args[0]) == sorted(due)
    burst(rq_app)
    session = db.session()
    assert [escalations(session, case_id) for case_id in due] == [1] * 5
    assert scheduler.run_once(host_of(rq_app)).timers == 0


def test_a_job_for_a_deadline_already_fired_does_nothing(rq_app: Flask) -> None:
    case_id = submit_due_case(db.session())
    assert fire_case_timers(case_id) is True
    assert fire_case_timers(case_id) is False
    assert escalations(db.session(), case_id) == 1


def test_a_job_for_a_case_not_due_does_nothing(rq_app: Flask) -> None:
    case_id = submit_due_case(db.session(), days_ago=0)
    assert fire_case_timers(case_id) is False
    assert fire_case_timers(10_000) is False  # no such case
    assert fired_events(db.session(), case_id) == []


def test_a_finished_job_whose_case_is_still_due_is_enqueued_again(rq_app: Flask) -> None:
    case_id = submit_due_case(db.session())
    dispatcher = RqDispatcher(rq_app.config)
    due = db.session.get_one(Case, case_id).next_timer_at
    db.session.remove()
    assert dispatcher.timer(case_id, due) is True
    assert dispatcher.timer(case_id, due) is False  # its job is still queued
    queue = timer_queue(rq_app)
    [job] = queue.jobs
    queue.remove(job)
    job.set_status("finished")  # as if it ran and lost a race, yet the case is still due
    assert dispatcher.timer(case_id, due) is True
    [again] = queue.jobs
    assert again.id != job.id and again.args[0] == [(case_id, due.isoformat())]
    assert queue.connection.get(timer_key(queue.name, case_id, due)) == again.id.encode()


def test_eight_concurrent_firings_of_one_deadline_escalate_once(rq_app: Flask) -> None:
    case_id = submit_due_case(db.session())
    db.session.remove()
    results: list[bool] = []

    def fire() -> None:
        with rq_app.app_context():
            results.append(fire_case_timers(case_id))

    threads = [threading.Thread(target=fire) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert escalations(db.session(), case_id) == 1
    assert len(fired_events(db.session(), case_id)) == 1


def test_sweeps_page_through_batches_inline(backend: str, prefix: str) -> None:
    app = make_app(backend, SWEEP_BATCH=2)
    with seeded(app):
        due = [submit_due_case(db.session()) for _ in range(5)]
        assert scheduler.sweep_timers(host_of(app), InlineDispatcher()) == 5
        assert [escalations(db.session(), case_id) for case_id in due] == [1] * 5


def test_concurrent_schedulers_split_the_due_set_with_skip_locked(rq_app: Flask, backend: str) -> None:
    if not backend.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    due = [submit_due_case(db.session()) for _ in range(4)]
    db.session.remove()
    now = datetime.now(UTC)
    other = sa.create_engine(backend)
    with other.connect() as conn:
        conn.execute(sa.text("SELECT id FROM complaint WHERE id IN (:a, :b) FOR UPDATE"), {"a": due[0], "b": due[1]})
        claimed = scheduler.claim_due(db.session(), now, 10)
        db.session.rollback()
        assert sorted(case_id for case_id, _ in claimed) == sorted(due[2:])
    other.dispose()


def test_timers_run_due_fires_synchronously(rq_app: Flask) -> None:
    case_id = submit_due_case(db.session())
    db.session.remove()
    result = rq_app.test_cli_runner().invoke(args=["timers", "run-due"])
    assert result.exit_code == 0, result.output
    assert "fired timers of 1 case(s)" in result.output
    assert escalations(db.session(), case_id) == 1
