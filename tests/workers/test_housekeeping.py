"""Housekeeping: expired sessions, quiet sign-in counts and old idempotency keys go; live ones and audit stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from api import host_of
from api.extensions import db
from engine.channels.idempotency import IdempotencyKey
from engine.db import utcnow
from engine.directory.signin import AccountEvent, LoginThrottle, WebSession
from tests.conftest import seeded
from tests.workers.conftest import make_app, wait_until
from workers import housekeeping, scheduler
from workers.queue import wake_event


@pytest.fixture
def app(backend: str) -> Iterator[Flask]:
    app = make_app(backend)
    with seeded(app):
        yield app


def _seed_rows() -> None:
    now, session = utcnow(), db.session()
    hour, day = timedelta(hours=1), timedelta(days=1)
    session.add_all(
        [
            IdempotencyKey(owner="c1", key="old", fingerprint="f", created_at=now - day - hour),
            IdempotencyKey(owner="c1", key="new", fingerprint="f", created_at=now - hour),
            WebSession(id_hash="expired", username="verifier", created_at=now - day, expires_at=now - hour),
            WebSession(id_hash="live", username="verifier", created_at=now - hour, expires_at=now + hour),
            LoginThrottle(username="quiet", failures=5, last_failure_at=now - day - hour),
            LoginThrottle(username="recent", failures=5, last_failure_at=now - hour),
            LoginThrottle(username="locked", failures=0, last_failure_at=now - day - hour, locked_until=now + hour),
            AccountEvent(at=now - 30 * day, username="locked", type="account_locked", data={}),
        ]
    )
    session.commit()


def _left(column: sa.orm.InstrumentedAttribute[str]) -> set[str]:
    db.session.remove()
    return set(db.session.scalars(sa.select(column)))


def test_prune_deletes_only_what_has_outlived_its_use(app: Flask) -> None:
    _seed_rows()
    pruned = housekeeping.prune(host_of(app))
    assert (pruned.idempotency_keys, pruned.sign_in_rows) == (1, 2)
    assert _left(IdempotencyKey.key) == {"new"}
    assert _left(WebSession.id_hash) == {"live"}
    assert _left(LoginThrottle.username) == {"recent", "locked"}
    assert _left(AccountEvent.username) == {"locked"}  # the audit of accounts stays
    assert housekeeping.prune(host_of(app)).total == 0


def test_the_scheduler_loop_keeps_house_on_its_first_pass(app: Flask) -> None:
    _seed_rows()
    stop = scheduler.start_in_process(host_of(app), interval=60)
    try:
        wait_until(lambda: _left(WebSession.id_hash) == {"live"}, 30, "the expired session to go")
    finally:
        stop.set()
        wake_event(host_of(app)).set()
    assert _left(IdempotencyKey.key) == {"new"}


def test_scheduler_once_reports_what_it_deleted(app: Flask) -> None:
    _seed_rows()
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "expired rows deleted: 3" in result.output
