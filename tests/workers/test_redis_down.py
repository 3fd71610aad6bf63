"""Redis down: the API still takes complaints and completes tasks; timers and messages catch up later."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from redis.exceptions import RedisError

from api import host_of
from api.extensions import db
from engine.directory import demo
from engine.notify.outbox import OutboxMessage, OutboxStatus
from tests.conftest import DEMO_PASSWORD, _truncate
from tests.workers.conftest import DOWN_REDIS_URL, escalations, make_app, submit_due_case
from tests.workers.test_timers import burst
from workers import scheduler

API = "/api/v1"


@pytest.fixture
def down_app(backend: str, prefix: str) -> Iterator[Flask]:
    app = make_app(backend, REDIS_URL=DOWN_REDIS_URL, QUEUE_PREFIX=prefix)
    with app.app_context():
        _truncate(db.session)
        demo.seed(db.session(), DEMO_PASSWORD)
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_intake_and_tasks_work_while_redis_is_down_and_catch_up_when_it_returns(
    down_app: Flask, backend: str, redis_url: str, prefix: str
) -> None:
    client = down_app.test_client()
    reporter = {"name": "Siti", "email": "siti@example.id"}
    complaint = {"title": "Parkir liar", "body": "Setiap malam di Nagoya.", "reporter": reporter}
    answer = client.post(f"{API}/complaints", json=complaint)
    assert answer.status_code == 201, answer.json
    token = client.post(f"{API}/auth/token", json={"username": "verifier", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}  # type: ignore[index]
    [task] = client.get(f"{API}/tasks", headers=headers).json  # type: ignore[misc]
    done = client.post(f"{API}/tasks/{task['id']}/complete", headers=headers,
                       json={"data": {"decision": "accept", "agency": "batam.dishub"}})  # fmt: skip
    assert done.status_code == 200, done.json
    assert client.get(f"{API}/health").json["queue"] == "unavailable"  # type: ignore[index]

    overdue = submit_due_case(db.session())  # a deadline passes during the outage
    with pytest.raises(RedisError):
        scheduler.run_once(host_of(down_app))
    pending = db.session.scalars(sa.select(OutboxMessage.status)).all()
    assert pending and set(pending) == {OutboxStatus.PENDING}
    assert escalations(db.session(), overdue) == 0

    back = make_app(backend, REDIS_URL=redis_url, QUEUE_PREFIX=prefix, OUTBOX_RELAY_AFTER_SECONDS=0)
    with back.app_context():
        result = scheduler.run_once(host_of(back))
        assert (result.timers, result.outbox) == (1, len(pending))
        burst(back)
        statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
        assert set(statuses) == {OutboxStatus.SENT}
        assert escalations(db.session(), overdue) == 1
        db.session.remove()
        db.engine.dispose()
