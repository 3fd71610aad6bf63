"""`aduan bench login-flood`: how a burst of sign-ins affects everyone else's requests.

gunicorn (gthread: `--workers` processes x `--threads` threads) serves a scratch SQLite file seeded with the
demo directory, with production argon2 parameters. For `--duration` seconds, `--flood` client threads post
correct sign-ins as fast as they are answered (the per-IP login limit is lifted for the run, so every one
reaches the password check), while one probe thread sends an unrelated GET (`/api/v1/health`, a database
round trip) in a loop. Reported: the probe's p50/p95, and the sign-ins answered 200 / 429. Run once with
the password checks bounded (`PASSWORD_CHECK_CONCURRENCY`, default 1) and once effectively unbounded (64),
plus a baseline without the flood. Everything is bounded in time and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import click

from bench import bench

PASSWORD = "bench-password-1"


@dataclass
class FloodRun:
    label: str
    probe_ms: list[float]
    logins: Counter[int]

    def row(self) -> str:
        p50 = statistics.median(self.probe_ms) if self.probe_ms else float("nan")
        p95 = statistics.quantiles(self.probe_ms, n=20)[-1] if len(self.probe_ms) > 20 else float("nan")
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(self.logins.items())) or "—"
        return f"{self.label:<34} {len(self.probe_ms):>6} {p50:>9.1f} {p95:>9.1f}   {statuses}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _call(url: str, body: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _serve(
    folder: Path, concurrency: int, workers: int, threads: int, wait: float
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "ADUAN_LOGIN_RATE_LIMIT": "1000000/minute",
        "ADUAN_PASSWORD_CHECK_CONCURRENCY": str(concurrency),
        "ADUAN_PASSWORD_CHECK_WAIT_SECONDS": str(wait),
    }
    env.pop("REDIS_URL", None)
    argv = [str(Path(sys.executable).parent / "gunicorn"), "--config", "python:api.gunicorn_conf"]
    argv += ["--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads)]
    argv += ["--bind", f"127.0.0.1:{port}", "api.wsgi:app"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _call(base + "/api/v1/health") != 200:
        time.sleep(0.2)
    return process, base


def _run(label: str, base: str, flood: int, seconds: float) -> FloodRun:
    stop = threading.Event()
    logins: Counter[int] = Counter()
    probe_ms: list[float] = []

    def flooder() -> None:
        while not stop.is_set():
            logins[_call(base + "/api/v1/auth/token", {"username": "verifier", "password": PASSWORD})] += 1

    def prober() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            if _call(base + "/api/v1/health") == 200:
                probe_ms.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)

    threads = [threading.Thread(target=flooder) for _ in range(flood)] + [threading.Thread(target=prober)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    return FloodRun(label, probe_ms, logins)


@bench.command("login-flood")
@click.option("--duration", default=15.0, show_default=True, help="seconds of each run")
@click.option("--flood", default=16, show_default=True, help="client threads posting sign-ins")
@click.option("--workers", default=2, show_default=True)
@click.option("--threads", default=4, show_default=True)
@click.option("--bounded", default=1, show_default=True, help="PASSWORD_CHECK_CONCURRENCY of the bounded run")
@click.option("--wait", default=0.1, show_default=True, help="PASSWORD_CHECK_WAIT_SECONDS")
def login_flood(duration: float, flood: int, workers: int, threads: int, bounded: int, wait: float) -> None:
    """Unrelated GET latency under a login flood, with the password checks bounded and unbounded."""
    from api import create_app
    from api.extensions import db
    from engine.directory import demo

    with tempfile.TemporaryDirectory(prefix="aduan-flood-") as tmp:
        folder = Path(tmp)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}", "REDIS_URL": None})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            demo.seed(db.session(), PASSWORD)
            db.session.commit()
            db.engine.dispose()
        runs = []
        for label, concurrency, flooding in [
            ("no flood", bounded, 0),
            (f"flood, argon2 bounded to {bounded}", bounded, flood),
            ("flood, argon2 unbounded (64)", 64, flood),
        ]:
            process, base = _serve(folder, concurrency, workers, threads, wait)
            try:
                runs.append(_run(label, base, flooding, duration))
            finally:
                process.terminate()
                process.wait(30)
    click.echo(f"gunicorn gthread {workers}x{threads}, {flood} flood threads, {duration:.0f} s per run, "
               f"wait for a slot {wait} s, {os.cpu_count()} CPUs")  # fmt: skip
    click.echo(f"{'run':<34} {'probes':>6} {'p50 ms':>9} {'p95 ms':>9}   sign-ins by status")
    for run in runs:
        click.echo(run.row())
