"""docker-compose.yml, checked as written and then run natively (no Docker engine runs on these machines).

The static tests read the file for what a production deployment needs: every service, health checks,
configuration by environment, the attachments volume, migrations before the rest, scalable workers.

The native test starts each Aduan service's own `command` from the file as a subprocess, with the
file's environment rewritten to the local PostgreSQL (a scratch database it creates and drops) and
Redis (a queue prefix of its own): `migrate`, then gunicorn (`api`, on a free port), every `worker`
replica and the `scheduler`; the operator's one-time step `aduan seed demo` in between. One complaint
then goes to closure over HTTP: filed by a guest, accepted by the verifier, answered by the officer, and
closed for the reporter's silence by its timer, which the scheduler hands to rq and a worker fires.

The timer: the case's waiting timers are moved to one second ago in the database (workflow state and
`next_timer_at`, as a clock would have moved them), rather than deploying a test variant of the diagram
with a timer seconds ahead. So the shipped diagram runs unchanged and the test needs no wait for a clock;
what is under test here is the production path (scheduler sweep → rq → worker → fire → closure), and the
deadline arithmetic of the timers is covered by tests/engine/cases/test_deadlines.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ADUAN = ("migrate", "api", "worker", "scheduler")
POSTGRES_URL = os.environ.get("ADUAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ADUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "rahasia-deploy-1"
REQUIRED = bool(os.environ.get("ADUAN_REQUIRE_POSTGRES") or os.environ.get("CI"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is in the test extra: pip install -e '.[test]'")
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


# As written ------------------------------------------------------------------------------------------------


def test_every_service_is_there_with_a_health_check(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert set(found) >= {"postgres", "redis", *ADUAN}
    for name in ("postgres", "redis", "api", "worker", "scheduler"):
        assert found[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert found["api"]["command"][0] == "gunicorn"
    assert "/api/v1/health" in " ".join(found["api"]["healthcheck"]["test"])


def test_configuration_is_by_environment(compose: dict[str, Any]) -> None:
    for name in ADUAN:
        env = services(compose)[name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "TIMEZONE", "ATTACHMENTS_DIR"} <= set(env), name
        assert env["DATABASE_URL"].startswith("postgresql://") and env["REDIS_URL"].startswith("redis://")
        assert "${ADUAN_SECRET_KEY:?" in env["SECRET_KEY"], "the secret comes from the operator, never the file"


def test_attachments_live_on_a_volume_every_aduan_service_mounts(compose: dict[str, Any]) -> None:
    assert "attachments" in compose["volumes"]
    for name in ADUAN:
        service = services(compose)[name]
        assert f"attachments:{service['environment']['ATTACHMENTS_DIR']}" in service["volumes"], name


def test_migrations_run_before_the_other_services_start(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert found["migrate"]["command"] == ["aduan", "db", "upgrade"]
    assert found["migrate"]["restart"] == "no"
    for name in ("api", "worker", "scheduler"):
        needs = found[name]["depends_on"]
        assert needs["migrate"] == {"condition": "service_completed_successfully"}, name
        assert needs["postgres"] == needs["redis"] == {"condition": "service_healthy"}, name


def test_workers_scale_and_the_api_shares_its_metrics(compose: dict[str, Any]) -> None:
    worker, api = services(compose)["worker"], services(compose)["api"]
    assert worker["command"] == ["aduan", "worker"]
    assert "ports" not in worker and "container_name" not in worker  # --scale worker=N works
    assert worker.get("deploy", {}).get("replicas", 1) >= 1
    assert api["environment"].get("PROMETHEUS_MULTIPROC_DIR")
    assert "python:api.gunicorn_conf" in api["command"]


# Run natively ----------------------------------------------------------------------------------------------


def _reachable() -> str | None:
    from redis import Redis

    try:
        admin = sa.create_engine(sa.make_url(POSTGRES_URL).set(database="postgres"))
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
        admin.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}"
    return None


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A PostgreSQL database of this test alone on the test server, dropped afterwards."""
    reason = _reachable()
    if reason:
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None and not _has_module("gunicorn"):
        pytest.fail("gunicorn is in the test extra: pip install -e '.[test]'")
    target = sa.make_url(POSTGRES_URL).set(database=f"aduan_deploy_{uuid.uuid4().hex[:10]}")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    try:
        yield target.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.fixture
def prefix() -> Iterator[str]:
    """A queue prefix of this test alone; its Redis keys (queues, jobs, metrics) go afterwards."""
    from redis import Redis

    name = "deploy" + uuid.uuid4().hex[:10]
    yield name
    redis = Redis.from_url(REDIS_URL)
    keys = list(redis.scan_iter(match=f"*{name}*", count=1000))
    if keys:
        redis.delete(*keys)
    for key in ("rq:workers", "rq:queues"):
        for member in redis.smembers(key):
            if name in member.decode():
                redis.srem(key, member)


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` against `variables`."""

    def replace(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in variables and (variables[name] or op is None):
            return variables[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {rest}")
        return rest or ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}", replace, value)


class Deployment:
    """The compose services as local subprocesses: environment rewritten, logs kept per process."""

    def __init__(self, compose: dict[str, Any], database: str, prefix: str, folder: Path) -> None:
        self.compose, self.folder = compose, folder
        self.port = _free_port()
        self.variables = {"ADUAN_SECRET_KEY": uuid.uuid4().hex * 2, "ADUAN_METRICS_TOKEN": uuid.uuid4().hex}
        self.local = {
            "DATABASE_URL": database,
            "REDIS_URL": REDIS_URL,
            "ADUAN_QUEUE_PREFIX": prefix,
            "ATTACHMENTS_DIR": str(folder / "attachments"),  # the `attachments` volume
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        }
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def env(self, name: str) -> dict[str, str]:
        written = {
            k: interpolate(str(v), self.variables) for k, v in services(self.compose)[name]["environment"].items()
        }
        for key in self.local.keys() & written.keys():
            written[key] = self.local[key]  # postgres://…@postgres, redis://redis, /data/… mean nothing here
        inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "FLASK_APP")}
        return {**inherited, **written}

    def argv(self, command: list[str]) -> list[str]:
        """The command with its program from this virtualenv and the API bound to a local free port."""
        program = Path(sys.executable).parent / command[0]
        argv = [str(program) if program.exists() else (shutil.which(command[0]) or command[0]), *command[1:]]
        if command[0] == "python":
            argv[0] = sys.executable
        return [a.replace("0.0.0.0:8000", f"127.0.0.1:{self.port}").replace(":8000/", f":{self.port}/") for a in argv]

    def run(
        self, name: str, command: list[str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        argv = self.argv(command or services(self.compose)[name]["command"])
        return subprocess.run(
            argv, env=self.env(name), cwd=self.folder, capture_output=True, text=True, timeout=timeout
        )

    def start(self, name: str, replica: int = 0) -> None:
        log = open(self.folder / f"{name}-{replica}.log", "wb")  # noqa: SIM115 (closed with the process)
        argv = self.argv(services(self.compose)[name]["command"])
        proc = subprocess.Popen(argv, env=self.env(name), cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)
        self.running.append((f"{name}-{replica}", proc))

    def healthy(self, name: str) -> subprocess.CompletedProcess[str]:
        test = services(self.compose)[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        return self.run(name, test[1:], timeout=30)

    def log(self, name: str) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.folder.glob(f"{name}-*.log")))

    def check_running(self) -> None:
        for name, proc in self.running:
            assert proc.poll() is None, (
                f"{name} exited ({proc.returncode}):\n{self.log(name.rsplit('-', 1)[0])[-3000:]}"
            )

    def stop(self) -> None:
        for _, proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in self.running:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def until(check: Callable[[], Any], timeout: float, what: str, deployment: Deployment) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.check_running()
        result = check()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


class Api:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                return answer.status, (json.loads(raw) if "json" in answer.headers.get("Content-Type", "") else raw)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def login(self, username: str) -> dict[str, str]:
        status, body = self.call("POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD})
        assert status == 200, body
        return {"Authorization": f"Bearer {body['access_token']}"}

    def task_of(self, who: dict[str, str], tracking_id: str, name: str) -> str:
        status, inbox = self.call("GET", "/api/v1/tasks", headers=who)
        assert status == 200, inbox
        (task,) = [t for t in inbox if t["complaint"]["tracking_id"] == tracking_id and t["name"] == name]
        return str(task["id"])

    def complete(self, who: dict[str, str], task_id: str, data: dict[str, Any]) -> dict[str, Any]:
        status, body = self.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": data}, who)
        assert status == 200, body
        result: dict[str, Any] = body
        return result


def move_timers_to_the_past(database: str, tracking_id: str) -> None:
    """Make every waiting timer of the case due one second ago, as if its deadline had passed."""
    from SpiffWorkflow.util.task import TaskState

    from api import create_app
    from api.extensions import db
    from engine.cases import lifecycle
    from engine.cases.case import Case
    from engine.db import utcnow
    from engine.processes import serialization

    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": None, "SECRET_KEY": "deploy-test"})
    with app.app_context():
        session = db.session()
        case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()
        run = lifecycle._restore(session, case, app.extensions["aduan.settings"])
        past = utcnow() - timedelta(seconds=1)
        moved = 0
        for task in run.wf.get_tasks(state=TaskState.WAITING):
            if isinstance(task.internal_data.get("event_value"), str):
                task.internal_data["event_value"] = past.isoformat()
                moved += 1
        assert moved, "the case waits on no timer"
        case.state, case.next_timer_at = serialization.dump(run.wf), past
        session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_the_services_take_a_complaint_to_closure_with_a_timer_fired_by_a_worker(
    compose: dict[str, Any], scratch_database: str, prefix: str, tmp_path: Path
) -> None:
    deployment = Deployment(compose, scratch_database, prefix, tmp_path)
    migrated = deployment.run("migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = deployment.run("migrate", ["aduan", "seed", "demo", "--password", PASSWORD])
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    replicas = int(services(compose)["worker"].get("deploy", {}).get("replicas", 1))
    try:
        deployment.start("api")
        for replica in range(replicas):
            deployment.start("worker", replica)
        deployment.start("scheduler")
        until(lambda: deployment.healthy("api").returncode == 0, 90, "the api health check", deployment)
        for name in ("worker", "scheduler"):
            checked = deployment.healthy(name)
            assert checked.returncode == 0, checked.stdout + checked.stderr

        api = Api(deployment.port)
        status, health = api.call("GET", "/api/v1/health")
        assert (status, health) == (200, {"status": "ok", "database": "ok", "queue": "ok"})

        status, filed = api.call("POST", "/api/v1/complaints", {
            "title": "Sampah menumpuk di Jl. Ahmad Yani", "body": "Sampah belum diangkut lima hari.",
            "category": "kebersihan", "reporter": {"name": "Budi", "phone": "+62 812 7000 1234"},
        })  # fmt: skip
        assert status == 201, filed
        tracking_id, secret = filed["tracking_id"], {"X-Reporter-Token": filed["reporter_token"]}

        verifier = api.login("verifier")
        accepted = api.complete(verifier, api.task_of(verifier, tracking_id, "verify"), {
            "decision": "accept", "agency": "batam.dlh"})  # fmt: skip
        assert accepted["complaint"]["status"] == "dispositioned"
        officer = api.login("dlh")
        answered = api.complete(officer, api.task_of(officer, tracking_id, "respond"), {
            "decision": "respond", "message": "Sampah sudah diangkut hari ini.", "final": True})  # fmt: skip
        assert answered["complaint"]["status"] == "awaiting_reporter"

        move_timers_to_the_past(scratch_database, tracking_id)

        def closed() -> dict[str, Any] | None:
            status, view = api.call("GET", f"/api/v1/complaints/{tracking_id}", headers=secret)
            assert status == 200, view
            return view if view["status"] == "closed" else None

        view = until(closed, 90, "closure by the reporter-silence timer", deployment)
        assert view["close_reason"] == "no_reply"

        status, history = api.call("GET", f"/api/v1/complaints/{tracking_id}/history", headers=api.login("auditor"))
        assert status == 200
        assert [e["type"] for e in history][-1] == "timer_fired"
        assert history[-1]["actor"] == "system"
        assert "timers of 1 case(s) fired" in deployment.log("worker")  # fired by an rq worker, not inline
        assert api.call("GET", "/metrics")[0] == 401
        scrape = {"Authorization": f"Bearer {deployment.variables['ADUAN_METRICS_TOKEN']}"}
        status, metrics = api.call("GET", "/metrics", headers=scrape)
        assert status == 200
        count = re.search(rb"^aduan_timer_lateness_seconds_count ([0-9.]+)$", metrics, re.MULTILINE)
        assert count and float(count.group(1)) >= 1
        assert re.search(rb'^aduan_http_requests_total\{endpoint="/api/v1/tasks/<task_id>/complete"', metrics, re.M)
        deployment.check_running()
    finally:
        deployment.stop()
