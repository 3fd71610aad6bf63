"""The embedded default and the command line: the in-process loop, `aduan scheduler`, `aduan worker`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from api import host_of
from api.extensions import db
from engine.notify.outbox import OutboxMessage, OutboxStatus
from tests.conftest import seeded
from tests.workers.conftest import escalations, make_app, submit_due_case, wait_until
from workers import scheduler
from workers.queue import wake_event


@pytest.fixture
def embedded(backend: str) -> Iterator[Flask]:
    """The embedded default: no REDIS_URL."""
    app = make_app(backend)
    with seeded(app):
        yield app


def test_the_in_process_loop_fires_due_timers_and_delivers_what_commands_leave(embedded: Flask) -> None:
    stop = scheduler.start_in_process(host_of(embedded), interval=60)  # only the first pass and wake-ups run
    try:
        # the receipt to the reporter wakes the loop, which delivers it and fires the overdue deadline
        overdue = submit_due_case(db.session(), reporter={"name": "Siti", "email": "siti@example.id"})

        def done() -> bool:
            try:
                rows = db.session.query(OutboxMessage).all()
                sent = bool(rows) and all(r.status == OutboxStatus.SENT for r in rows)
                return sent and escalations(db.session(), overdue) == 1
            finally:
                db.session.remove()

        wait_until(done, 30, "the loop to deliver the receipt and fire the overdue case")
    finally:
        stop.set()
        wake_event(host_of(embedded)).set()


def test_scheduler_once_without_redis_fires_inline(embedded: Flask) -> None:
    overdue = submit_due_case(db.session())
    db.session.remove()
    result = embedded.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "due cases: 1" in result.output
    assert escalations(db.session(), overdue) == 1


def test_worker_needs_redis(embedded: Flask) -> None:
    result = embedded.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_webhooks_add_subscribes_an_agency_system(embedded: Flask) -> None:
    runner = embedded.test_cli_runner()
    result = runner.invoke(args=["webhooks", "add", "batam.dlh", "https://dlh.batam.go.id/aduan", "--secret", "x"])
    assert result.exit_code == 0, result.output
    assert "batam.dlh" in result.output
    bad = runner.invoke(args=["webhooks", "add", "batam.nowhere", "ftp://x"])
    assert bad.exit_code != 0 and "no agency" in bad.output
