"""`aduan bench http`: the API under concurrent load, run as production runs it.

gunicorn (2 sync workers, the compose `api` service's command) serves a scratch PostgreSQL database that
is created, migrated and seeded with the demo directory, and dropped afterwards (`aduan_bench_http`; never
a database you keep), with Redis for the queues and rate limits under a queue prefix of its own. `wrk`
drives the load from a separate process (Debian package `wrk`; script `bench/wrk/aduan.lua`), on
127.0.0.1 only, each run bounded in time (`--duration`) and in requests (`--max-requests`):

1. intake: POST /complaints as a guest (every request files a new case, which waits at `verify`);
2. inbox: GET /tasks as the verifier (the first 100 of the READY `verify` tasks the intake left);
3. task completion: POST /tasks/<id>/complete accepting `verify`, each request a distinct READY task id
   of those cases (dumped from the database; the Lua script hands them out in turn).

Figures per endpoint: throughput (responses per second over the run) and latency p50/p95/p99 as wrk
measures them (closed loop: `--connections` requests in flight). Then intake and completion again at a
fixed rate, `--rate-fraction` of the throughput wrk just measured (open loop, `bench/fixed_rate.py`:
latency from each request's due time, so a stall counts for every request it delayed). Afterwards the
peak RSS (VmHWM) of each gunicorn worker is read from /proc before it stops.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
import sqlalchemy as sa

from bench import bench
from bench.fixed_rate import RateResult, fixed_rate, http_request
from engine.db import normalize_url

WRK_SCRIPT = Path(__file__).with_name("wrk") / "aduan.lua"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/aduan_bench_http"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEMO_PASSWORD = "bench-password-1"
SCRATCH_PREFIX = "aduan_bench"
EXPECTED = {"intake": 201, "inbox": 200, "complete": 200}
LABELS = {"intake": "POST /complaints", "inbox": "GET /tasks", "complete": "POST /tasks/{id}/complete"}


@dataclass
class Load:
    """One wrk run against one endpoint."""

    mode: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    failed: int
    statuses: dict[str, int] = field(default_factory=dict)
    note: str = ""
    api_cpu_ms: float = 0.0  # CPU of the gunicorn workers per answered request
    db_cpu_ms: float = 0.0  # CPU of the PostgreSQL server processes per answered request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def label(self) -> str:
        return LABELS.get(self.mode, self.mode)


@dataclass
class Rated:
    """One fixed-rate run against one endpoint, with the server-side CPU per answered request."""

    mode: str
    result: RateResult
    api_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0

    @property
    def label(self) -> str:
        return LABELS.get(self.mode, self.mode)


@dataclass
class HttpReport:
    loads: list[Load]
    worker_rss_kib: list[int]
    setup: str
    rq_worker: Any = None  # resources.WorkerRun, when measured
    rated: list[Rated] = field(default_factory=list)


# Scratch databases ----------------------------------------------------------------------------------------


def _check_scratch(url: str) -> sa.URL:
    target = sa.make_url(normalize_url(url))
    if target.get_backend_name() != "postgresql" or not (target.database or "").startswith(SCRATCH_PREFIX):
        raise click.ClickException(
            f"{target.render_as_string()}: the bench creates and drops its database, so it must be a "
            f"PostgreSQL database named {SCRATCH_PREFIX}…"
        )
    return target


def _admin(target: sa.URL) -> sa.Engine:
    return sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")


@contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """Create the PostgreSQL database named in `url` (dropping an old one), yield its URL, drop it again."""
    target = _check_scratch(url)
    admin = _admin(target)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
        yield target.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable(url: str) -> bool:
    engine = sa.create_engine(
        sa.make_url(normalize_url(url)).set(database="postgres"), connect_args={"connect_timeout": 2}
    )
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def redis_reachable(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except RedisError:
        return False


def clear_queue_keys(redis_url: str, prefix: str) -> None:
    """Delete the rq keys (queues, jobs, registries) of queue prefix `prefix`."""
    from redis import Redis

    redis = Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5)
    keys = list(redis.scan_iter(match=f"*{prefix}-*", count=1000))
    for start in range(0, len(keys), 1000):
        redis.delete(*keys[start : start + 1000])
    for registry in ("rq:workers", "rq:queues"):
        for member in redis.smembers(registry):
            if f"{prefix}-" in (member.decode() if isinstance(member, bytes) else member):
                redis.srem(registry, member)


def prepare_database(url: str) -> None:
    """Migrate the scratch database and seed the demo directory (in this process, then let go of it)."""
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from engine.directory import demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "bench-setup"})
    with app.app_context():
        upgrade()
        demo.seed(db.session(), DEMO_PASSWORD)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def bearer_token(url: str, secret: str, username: str) -> str:
    """A bearer token of demo user `username`, signed with `secret` (what POST /auth/token would answer)."""
    from api import create_app
    from api.auth import issue_token
    from api.extensions import db
    from engine.directory.users import User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": secret})
    with app.app_context():
        token, _ = issue_token(db.session.get_one(User, username))
        db.session.remove()
        db.engine.dispose()
    return token


# gunicorn -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(database_url: str, redis_url: str | None, prefix: str, secret: str, **extra: str) -> dict[str, str]:
    """The environment of an Aduan process (compose style), pointing at the given database and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "FLASK_APP")}
    env.update(DATABASE_URL=database_url, SECRET_KEY=secret, ADUAN_QUEUE_PREFIX=prefix, TIMEZONE="Asia/Jakarta")
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def wait_healthy(port: int, proc: subprocess.Popen[Any], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/v1/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"the server exited with status {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise click.ClickException(f"no answer from {url} within {timeout:.0f} s")


@contextmanager
def gunicorn(
    env: dict[str, str], log: IO[bytes], workers: int = 2, threads: int = 1, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Run `gunicorn api.wsgi:app` on 127.0.0.1 until the block ends (SIGTERM, then SIGKILL)."""
    if shutil.which("gunicorn") is None and not _module_available("gunicorn"):
        raise click.ClickException("gunicorn is not installed: pip install -e '.[prod]'")
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    if threads > 1:
        command += ["--threads", str(threads)]
    proc = subprocess.Popen([*command, "api.wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, proc)
        yield proc, port
    finally:
        stop(proc)


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def stop(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


# wrk ------------------------------------------------------------------------------------------------------


def run_wrk(
    port: int,
    mode: str,
    duration: float,
    connections: int,
    threads: int,
    max_requests: int,
    token: str = "",
    ids_file: str | None = None,
) -> Load:
    """One bounded wrk run against 127.0.0.1:`port`; the figures its Lua `done()` printed."""
    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed: apt-get install wrk")
    threads = max(1, min(threads, connections))
    env = {
        **os.environ,
        "ADUAN_BENCH_MODE": mode,
        "ADUAN_BENCH_TOKEN": token,
        "ADUAN_BENCH_MAX": str(math.ceil(max_requests / threads)),
        "ADUAN_BENCH_THREADS": str(threads),
        "ADUAN_BENCH_IDS": ids_file or "",
    }
    seconds = max(1, round(duration))  # wrk takes whole seconds
    command = ["wrk", "--threads", str(threads), "--connections", str(connections), "--duration", f"{seconds}s"]
    command += ["--timeout", "10s", "--script", str(WRK_SCRIPT), f"http://127.0.0.1:{port}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise click.ClickException(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    statuses = {str(k): int(v) for k, v in result["statuses"].items()}
    errors = result["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    good = statuses.get(str(EXPECTED[mode]), 0)
    return Load(
        mode=mode, requests=good, seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000, p95_ms=result["p95_us"] / 1000, p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000, failed=sum(statuses.values()) - good + socket_errors, statuses=statuses,
    )  # fmt: skip


def ready_verify_ids(url: str) -> list[str]:
    """Ids of the READY `verify` tasks, oldest first."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            query = "select id from task where state = 'ready' and name = 'verify' order by created_at, id"
            return [row[0] for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


# /proc ----------------------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Pids of the direct children of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """Pids of the PostgreSQL server processes connected to the database of `url` (other than ours)."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            query = "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
            return [row[0] for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


class CpuMeter:
    """CPU seconds used by the gunicorn workers and by the database's server processes over a run."""

    def __init__(self, master: int, url: str) -> None:
        self.master, self.url = master, url
        self.before: dict[int, float] = {}

    def _pids(self) -> tuple[list[int], list[int]]:
        return children(self.master), backend_pids(self.url)

    def start(self) -> None:
        workers, backends = self._pids()
        self.before = {pid: cpu_seconds(pid) for pid in workers + backends}

    def stop(self) -> tuple[float, float]:
        workers, backends = self._pids()
        used = [sum(cpu_seconds(p) - self.before.get(p, 0.0) for p in pids) for pids in (workers, backends)]
        return used[0], used[1]


def measured_wrk(meter: CpuMeter, **options: Any) -> Load:
    """`run_wrk(**options)` with the CPU the API workers and PostgreSQL spent per answered request."""
    meter.start()
    load = run_wrk(**options)
    api_cpu, db_cpu = meter.stop()
    if load.requests:
        load.api_cpu_ms, load.db_cpu_ms = api_cpu * 1000 / load.requests, db_cpu * 1000 / load.requests
    return load


def peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set size) of a live process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# The bench ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadPlan:
    duration: float = 15.0
    connections: int = 4
    threads: int = 2
    max_requests: int = 20_000
    warmup: float = 2.0
    workers: int = 2
    worker_threads: int = 1
    rate_fraction: float = 0.8  # fixed-rate runs at this share of the measured throughput (0: none)
    rate: float = 0.0  # or at this many requests per second (the issue's target: 80 % of 160/s = 128/s)

    def fixed_rate(self, measured_rps: float) -> float:
        """Requests per second of the fixed-rate run after a closed-loop run that gave `measured_rps` (0: none)."""
        return self.rate or self.rate_fraction * measured_rps


QUICK = LoadPlan(duration=5.0, max_requests=5_000, warmup=1.0)
INTAKE_BODY = json.dumps(
    {
        "title": "Sampah menumpuk di Jl. Ahmad Yani", "body": "Sampah belum diangkut lima hari dan mulai berbau.",
        "category": "kebersihan", "channel": "web", "reporter": {"name": "Budi", "phone": "+62 812 7000 1234"},
    }
).encode()  # fmt: skip
COMPLETE_BODY = json.dumps({"data": {"decision": "accept", "agency": "batam.dlh"}}).encode()


def rated_run(meter: CpuMeter, port: int, mode: str, rate: float, plan: LoadPlan, ids: list[str], token: str) -> Rated:
    """Intake or completion (a distinct task of `ids` per request) at `rate` per second for `plan.duration`."""
    auth = {"Authorization": f"Bearer {token}"}

    def request_of(i: int) -> bytes:
        if mode == "intake":
            return http_request("POST", "/api/v1/complaints", INTAKE_BODY)
        return http_request("POST", f"/api/v1/tasks/{ids[i]}/complete", COMPLETE_BODY, auth)

    limit = plan.max_requests if mode == "intake" else min(plan.max_requests, len(ids))
    meter.start()
    result = fixed_rate(port, request_of, rate, limit, plan.duration)
    api_cpu, db_cpu = meter.stop()
    answered = max(1, len(result.latencies_ms))
    return Rated(mode, result, api_cpu * 1000 / answered, db_cpu * 1000 / answered)


def run_http(database: str, redis_url: str | None, plan: LoadPlan, log_path: Path, rq_cases: int = 0) -> HttpReport:
    """Intake, inbox and task completion under load against gunicorn on a scratch PostgreSQL database;
    with `rq_cases` (and Redis), then the peak RSS of an rq worker firing the timers of that many cases."""
    secret, prefix = os.urandom(24).hex(), f"benchhttp{os.getpid()}"
    load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    loads: list[Load] = []
    rated: list[Rated] = []
    rq_worker = None
    with scratch_postgres(database) as url, open(log_path, "wb") as log:
        prepare_database(url)
        token = bearer_token(url, secret, "verifier")
        env = service_env(url, redis_url, prefix, secret, INTAKE_RATE_LIMIT="1000000/minute", ADUAN_JSON_LOGS="1")
        try:
            with gunicorn(env, log, plan.workers, plan.worker_threads) as (proc, port):
                meter = CpuMeter(proc.pid, url)
                run: dict[str, Any] = {"port": port, "connections": plan.connections, "threads": plan.threads}

                def measured(**options: Any) -> Load:
                    return measured_wrk(meter, **run, **options)

                run_wrk(**run, mode="intake", duration=plan.warmup, max_requests=plan.max_requests)
                run_wrk(**run, mode="inbox", duration=plan.warmup, max_requests=plan.max_requests, token=token)
                loads.append(measured(mode="intake", duration=plan.duration, max_requests=plan.max_requests))
                if plan.fixed_rate(loads[-1].rps):
                    rated.append(rated_run(meter, port, "intake", plan.fixed_rate(loads[-1].rps), plan, [], token))
                ids = ready_verify_ids(url)
                inbox = measured(mode="inbox", duration=plan.duration, max_requests=plan.max_requests, token=token)
                inbox.note = f"{len(ids)} READY verify tasks, 100 per page"
                loads.append(inbox)
                with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as handle:
                    handle.write("\n".join(ids) + "\n")
                try:
                    limit = min(plan.max_requests, len(ids))
                    done = measured(mode="complete", duration=plan.duration, max_requests=limit, token=token,
                                    ids_file=handle.name)  # fmt: skip
                finally:
                    os.unlink(handle.name)
                done.note = f"{len(ids)} distinct READY task ids available"
                loads.append(done)
                if plan.fixed_rate(done.rps):
                    time.sleep(2)  # completions wrk left in flight finish first: their tasks are not handed out again
                    left = ready_verify_ids(url)
                    rated.append(rated_run(meter, port, "complete", plan.fixed_rate(done.rps), plan, left, token))
                rss = [peak_rss_kib(pid) for pid in children(proc.pid)]
            if rq_cases and redis_url:
                from bench.resources import rq_worker_peak_rss

                rq_worker = rq_worker_peak_rss(url, redis_url, prefix, env, rq_cases)
        finally:
            if redis_url:
                clear_queue_keys(redis_url, prefix)
    mode = (
        f"{plan.workers} sync workers" if plan.worker_threads == 1 else f"{plan.workers}x{plan.worker_threads} gthread"
    )
    setup = (
        f"gunicorn {mode}, PostgreSQL{' + Redis' if redis_url else ''}, wrk {plan.threads} threads x "
        f"{plan.connections} connections, {plan.duration:g} s per endpoint (≤ {plan.max_requests} requests); "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    return HttpReport(loads, rss, setup, rq_worker, rated)


def print_loads(report: HttpReport) -> None:
    click.echo(report.setup)
    click.echo(
        f"{'endpoint':<28}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}{'n':>7}{'failed':>7}"
        f"{'CPU ms/req api+db':>19}"
    )
    for load in report.loads:
        click.echo(
            f"{load.label:<28}{load.rps:>8.1f}{load.p50_ms:>8.1f}{load.p95_ms:>8.1f}{load.p99_ms:>8.1f}"
            f"{load.max_ms:>8.1f}{load.requests:>7}{load.failed:>7}{load.api_cpu_ms:>11.1f} +{load.db_cpu_ms:>5.1f}"
            f"   {load.note}"
        )
        unexpected = {k: v for k, v in load.statuses.items() if k != str(EXPECTED[load.mode])}
        if unexpected:
            click.echo(f"{'':<28}unexpected statuses: {unexpected}")
    if report.rated:
        shares = " / ".join(f"{r.result.rate / max(1e-9, _max_rps(report, r.mode)):.0%}" for r in report.rated)
        click.echo(
            f"\nat a fixed rate ({shares} "
            "of the throughput above; open loop: latency from each request's due time, new connection per request)"
        )
        click.echo(
            f"{'endpoint':<28}{'rate/s':>8}{'got/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}{'n':>7}"
            f"{'failed':>7}{'CPU ms/req api+db':>19}{'client':>8}"
        )
        for rated in report.rated:
            r = rated.result
            ok = r.statuses.get(EXPECTED[rated.mode], 0)
            click.echo(
                f"{rated.label:<28}{r.rate:>8.1f}{r.achieved:>8.1f}{r.p50:>8.1f}{r.percentile(90):>8.1f}"
                f"{r.percentile(99):>8.1f}{max(r.latencies_ms, default=0):>8.1f}{ok:>7}{r.sent - ok:>7}"
                f"{rated.api_cpu_ms:>11.1f} +{rated.db_cpu_ms:>5.1f}{r.client_cpu_ms:>8.2f}"
            )
            odd = {k: v for k, v in r.statuses.items() if k != EXPECTED[rated.mode]}
            if odd or r.errors:
                click.echo(f"{'':<28}unexpected statuses: {odd}, connection errors or timeouts: {r.errors}")
    if report.worker_rss_kib:
        click.echo(
            "peak RSS of the gunicorn workers: " + ", ".join(f"{k / 1024:.0f} MiB" for k in report.worker_rss_kib)
        )
    if report.rq_worker:
        rq = report.rq_worker
        click.echo(
            f"peak RSS of an rq worker (`aduan worker --burst`, {rq.fired} timer jobs and their notifications, "
            f"{rq.seconds:.0f} s, exit {rq.exit_code}): {rq.peak_rss_kib / 1024:.0f} MiB"
        )


def _max_rps(report: HttpReport, mode: str) -> float:
    return next((load.rps for load in report.loads if load.mode == mode), 0.0)


@bench.command("http")
@click.option("--database", default=DEFAULT_DATABASE, show_default=True, help="scratch PostgreSQL database: DROPPED")
@click.option("--redis", "redis_url", default=DEFAULT_REDIS, show_default=True, help="Redis URL ('' for none)")
@click.option("--duration", default=15.0, show_default=True, help="seconds of load per endpoint")
@click.option("--connections", default=4, show_default=True, help="requests in flight (wrk connections)")
@click.option("--threads", default=2, show_default=True, help="wrk threads")
@click.option("--max-requests", default=20_000, show_default=True, help="bound on requests per endpoint")
@click.option("--workers", default=2, show_default=True, help="gunicorn workers")
@click.option("--worker-threads", default=1, show_default=True, help="threads per gunicorn worker (>1: gthread)")
@click.option("--rq-cases", default=100, show_default=True, help="timers fired by an rq worker for its peak RSS")
@click.option("--quick", is_flag=True, help="5 s per endpoint")
@click.option(
    "--rate-fraction", default=0.8, show_default=True, type=click.FloatRange(0, 1),
    help="then intake and completion at this share of their throughput, fixed rate (0: skip)",
)  # fmt: skip
@click.option(
    "--rate",
    default=0.0,
    type=click.FloatRange(min=0),
    help="fixed-rate runs at this many requests/s instead (e.g. 128: 80 % of 160/s)",
)
@click.option("--round-trips", "round_trips", default=50, show_default=True, help="requests counted in process")
@click.option("--round-trips-only", is_flag=True, help="only count round trips and CPU in process (no wrk)")
def http_bench(
    database: str, redis_url: str, duration: float, connections: int, threads: int, max_requests: int,
    workers: int, worker_threads: int, rq_cases: int, quick: bool, rate_fraction: float, rate: float,
    round_trips: int, round_trips_only: bool,
) -> None:  # fmt: skip
    """Throughput and p50/p95/p99 of intake, inbox and task completion through gunicorn on PostgreSQL."""
    plan = LoadPlan(duration, connections, threads, max_requests, 2.0, workers, worker_threads, rate_fraction, rate)
    if quick:
        plan = dataclasses.replace(plan, duration=QUICK.duration, max_requests=QUICK.max_requests, warmup=QUICK.warmup)
    if redis_url and not redis_reachable(redis_url):
        raise click.ClickException(f"Redis at {redis_url} is unreachable (use --redis '' to run without)")
    if not round_trips_only:
        log = Path(tempfile.gettempdir()) / "aduan-bench-http.log"
        print_loads(run_http(database, redis_url or None, plan, log, rq_cases))
        click.echo(f"gunicorn log: {log}")
    from bench.round_trips import measure, print_round_trips

    with scratch_postgres(database) as url:  # dropped afterwards, like the load's database
        figures = measure(url, redis_url or None, round_trips)
    print_round_trips(figures, round_trips, redis_url or None)
