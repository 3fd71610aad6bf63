"""Redis down: the API still takes complaints and completes tasks; timers and messages catch up later."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError

from api import host_of
from api.extensions import db
from engine.notify.outbox import OutboxMessage, OutboxStatus
from tests.conftest import DEMO_PASSWORD, seeded
from tests.workers.conftest import (
    DOWN_REDIS_URL,
    Processes,
    escalations,
    make_app,
    process_env,
    submit_due_case,
    wait_until,
)
from tests.workers.test_timers import burst
from workers import scheduler

API = "/api/v1"
REDIS_SERVER = "redis-server"


@pytest.fixture
def down_app(backend: str, prefix: str) -> Iterator[Flask]:
    app = make_app(backend, REDIS_URL=DOWN_REDIS_URL, QUEUE_PREFIX=prefix)
    with seeded(app):
        yield app


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A redis-server of this test alone, on a free port, that the test kills and starts again."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder = _free_port(), folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen([REDIS_SERVER, *args, "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        wait_until(self.answers, timeout=10, what="redis-server to start")

    def answers(self) -> bool:
        try:
            return bool(Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"no {REDIS_SERVER} to start and kill")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


OUTAGE_SECONDS = 16  # rq's own back-off would by now wait 16 s more before its next attempt


def test_a_worker_is_back_within_seconds_after_a_redis_outage_and_fires_the_timers_due(
    backend: str, own_redis: OwnRedis, processes: Processes, tmp_path: Path
) -> None:
    app = make_app(backend, REDIS_URL=own_redis.url, QUEUE_PREFIX="outage")
    with seeded(app):
        processes.start(["-m", "api.cli", "worker"], process_env(app), tmp_path / "worker.log")
        redis = Redis.from_url(own_redis.url)
        wait_until(lambda: bool(redis.smembers("rq:workers")), timeout=30, what="the worker to register")

        own_redis.kill()
        overdue = submit_due_case(db.session())  # a deadline passes during the outage
        time.sleep(OUTAGE_SECONDS)
        own_redis.start()

        assert scheduler.run_once(host_of(app)).timers == 1
        back = time.monotonic()
        wait_until(lambda: escalations(db.session(), overdue) == 1, timeout=8, what="the timer to fire")
        assert time.monotonic() - back < 8
