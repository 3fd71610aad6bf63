"""Worker fixtures: real Redis with a unique queue prefix per test, apps wired to it, due cases, subprocesses.

Redis is skipped, visibly, when it cannot be reached; CI (ADUAN_REQUIRE_POSTGRES=1 or CI=true) fails instead.
Every test's keys contain its prefix and are deleted afterwards, so tests may share a Redis server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from aiosmtpd.controller import Controller
from flask import Flask
from redis import Redis
from sqlalchemy.orm import Session

from api import create_app
from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord
from tests.conftest import seeded

REDIS_URL = os.environ.get("ADUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DOWN_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "workers-test-secret-key-0123456789abcdef"


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}"
        if os.environ.get("ADUAN_REQUIRE_POSTGRES") or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A queue prefix of this test alone; its keys are removed afterwards."""
    name = "t" + uuid.uuid4().hex[:12]
    yield name
    redis = Redis.from_url(redis_url)
    keys = list(redis.scan_iter(match=f"*{name}*", count=1000))
    if keys:
        redis.delete(*keys)
    for key in ("rq:workers", "rq:queues"):
        for member in redis.smembers(key):
            if name in member.decode():
                redis.srem(key, member)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping every mail it accepts, parsed with the modern e-mail API."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd): its SMTP_URL and the inbox of what it accepted."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def make_app(url: str, **config: Any) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": SECRET_KEY, **config})


@pytest.fixture
def rq_app(backend: str, redis_url: str, prefix: str) -> Iterator[Flask]:
    """The app on this backend and real Redis, with the demo directory."""
    app = make_app(backend, REDIS_URL=redis_url, QUEUE_PREFIX=prefix, TIMER_JOB_STALE_SECONDS=1)
    with seeded(app):
        yield app


def submit_due_case(session: Session, days_ago: int = 20, **fields: Any) -> int:
    """A case submitted `days_ago` days ago: its verification reminder and deadline have passed."""
    values = {"title": "Lampu jalan mati", "body": "Sudah dua minggu gelap.", **fields}
    with time_machine.travel(datetime.now(UTC) - timedelta(days=days_ago), tick=False):
        outcome = lifecycle.start_case(session, lifecycle.Submission(**values))
    return outcome.case.id


def escalations(session: Session, case_id: int, name: str = "escalate_verification") -> int:
    query = sa.select(sa.func.count()).where(TaskRecord.case_id == case_id, TaskRecord.name == name)
    return int(session.scalar(query) or 0)


def fired_events(session: Session, case_id: int) -> list[audit.Event]:
    query = sa.select(audit.Event).where(audit.Event.case_id == case_id, audit.Event.type == "timer_fired")
    return list(session.scalars(query))


def still_due(session: Session, case_ids: list[int]) -> list[int]:
    now = datetime.now(UTC)
    query = sa.select(Case.id).where(Case.id.in_(case_ids), Case.next_timer_at < now)
    return list(session.scalars(query))


def process_env(app: Flask, **extra: str) -> dict[str, str]:
    """The environment of an `aduan` subprocess sharing this test's database, Redis and queues."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        ADUAN_QUEUE_PREFIX=app.config["QUEUE_PREFIX"],
        SECRET_KEY=SECRET_KEY,
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


class Processes:
    """Subprocesses of one test, each in its own process group, all stopped at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no handler runs, no transaction commits; the OS drops its connections and locks."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    yield procs
    procs.stop_all()


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
