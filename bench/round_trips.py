"""Round trips and CPU per HTTP request, counted in one process (part of `aduan bench http`).

The app runs in this process behind Flask's test client (each request with its own app context and
session, as under gunicorn), against a scratch PostgreSQL database and Redis. Counted per request: every
statement the database receives (BEGIN, COMMIT and ROLLBACK included), every Redis round trip (a pipeline
is one), the CPU of this process (the API worker's share) and of the PostgreSQL server processes.
Targets: intake and completion ≤ 8 PostgreSQL round trips in all, ≤ 1 to Redis per command.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
import sqlalchemy as sa

from bench.http import DEMO_PASSWORD, backend_pids, clear_queue_keys, cpu_seconds, prepare_database, ready_verify_ids

INTAKE = {
    "title": "Lampu jalan mati",
    "body": "Lampu di Jl. Sudirman mati sejak Senin malam.",
    "category": "kebersihan",
    "reporter": {"name": "Warga", "email": "warga@example.org"},
}


@dataclass
class Figures:
    postgres: list[int] = field(default_factory=list)
    redis: list[int] = field(default_factory=list)
    api_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0

    def line(self, label: str) -> str:
        pg, rd = statistics.median(self.postgres), statistics.median(self.redis)
        return (
            f"{label:<11} PostgreSQL {pg:4.0f} (max {max(self.postgres)})   Redis {rd:3.0f} (max {max(self.redis)})"
            f"   CPU per request: API {self.api_cpu_ms:5.2f} ms + PostgreSQL {self.db_cpu_ms:5.2f} ms"
        )


class Tally:
    def __init__(self) -> None:
        self.postgres = 0
        self.redis = 0

    def statement(self, *args: Any) -> None:
        self.postgres += 1


@contextmanager
def counting(engine: sa.Engine, tally: Tally) -> Iterator[None]:
    from redis.connection import AbstractConnection

    original = AbstractConnection.send_packed_command

    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        tally.redis += 1
        return original(self, *args, **kwargs)  # type: ignore[no-untyped-call]

    events = ("before_cursor_execute", "begin", "commit", "rollback")
    for name in events:
        sa.event.listen(engine, name, tally.statement)
    AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        for name in events:
            sa.event.remove(engine, name, tally.statement)


def measure(url: str, redis_url: str | None, requests: int) -> dict[str, Figures]:
    """Intakes, then completions of the `verify` tasks they opened, each request counted."""
    from api import create_app
    from api.extensions import db

    prepare_database(url)
    prefix = f"aduan-bench-rt-{uuid.uuid4().hex[:8]}"
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": prefix,
        "SECRET_KEY": "bench-round-trips-0123456789abcdef",  # ≥ 32 bytes: PyJWT warns below
        "INTAKE_RATE_LIMIT": "1000000/minute",
    }
    app = create_app(config)
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    token = client.post("/api/v1/auth/token", json={"username": "verifier", "password": DEMO_PASSWORD}).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}  # type: ignore[index]
    for _ in range(5):  # warm: parsed specs, configuration snapshot, pools
        client.post("/api/v1/complaints", json=INTAKE)
    figures = {"intake": Figures(), "completion": Figures()}

    def run(kind: str, call: Any, items: list[Any]) -> None:
        pids = backend_pids(url)
        db_before, cpu = sum(cpu_seconds(p) for p in pids), time.process_time()
        for item in items:
            tally = Tally()
            with counting(engine, tally):
                answer = call(item)
            assert answer.status_code in (200, 201), answer.json
            figures[kind].postgres.append(tally.postgres)
            figures[kind].redis.append(tally.redis)
        figures[kind].api_cpu_ms = (time.process_time() - cpu) * 1000 / len(items)
        figures[kind].db_cpu_ms = (sum(cpu_seconds(p) for p in pids) - db_before) * 1000 / len(items)

    run("intake", lambda _: client.post("/api/v1/complaints", json=INTAKE), list(range(requests)))
    verify = ready_verify_ids(url)[:requests]
    accept = {"data": {"decision": "accept", "agency": "batam.dlh"}}
    run("completion", lambda t: client.post(f"/api/v1/tasks/{t}/complete", json=accept, headers=headers), verify)
    with app.app_context():
        db.engine.dispose()
    if redis_url:
        clear_queue_keys(redis_url, prefix)
    return figures


def print_round_trips(figures: dict[str, Figures], requests: int, redis_url: str | None) -> None:
    click.echo(f"\nround trips per request, {requests} of each, in one process (median, max)")
    click.echo("Redis: " + (redis_url or "none (rate limits in memory, outbox left to the in-process loop)"))
    for kind, figs in figures.items():
        click.echo(figs.line(kind))
