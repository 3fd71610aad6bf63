"""`aduan bench engine`: per-command cost through the engine (SQLite, PostgreSQL) next to raw SpiffWorkflow.

The same three steps of the default diagram are measured in one run: start a case (to `verify`), complete
`verify` (accept → `respond`), fire the due timers of `respond` (reminder + breach → escalation task).
"Raw" runs the very same spec and script environment in memory, with no database, no serialization and no
read models; the engine figure is the whole command (restore, step, save, read models, audit, commit).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench import bench
from engine import lifecycle, processes, serialization
from engine.access import Actor
from engine.calendar import WorkingCalendar
from engine.db import normalize_url
from engine.scripting import CaseEffects, script_engine

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB
FIRE_AT = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)  # Tuesday 00:30 WIB, after `respond` is due (Mon 7 Dec)
VERIFIER = Actor("verifier", "verifier", "batam.diskominfo")
ACCEPT = {"decision": "accept", "agency": "batam.dlh"}
START_DATA = {
    "kind": "complaint", "category": "kebersihan", "agency": None, "desk": "batam.diskominfo",
    "channel": "web", "anonymous": False, "confidential": False,
}  # fmt: skip


@dataclass
class Samples:
    """Durations in seconds of one step."""

    values: list[float] = field(default_factory=list)

    def time(self, fn: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        result = fn()
        self.values.append(time.perf_counter() - began)
        return result

    @property
    def median_ms(self) -> float:
        return statistics.median(self.values) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


STEPS = ("start", "complete verify", "fire timers")


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    try:
        import time_machine
    except ImportError as exc:  # pragma: no cover
        raise click.ClickException("aduan bench needs time-machine: pip install -e '.[test]'") from exc
    with time_machine.travel(at, tick=False):
        yield


def raw(n: int) -> dict[str, Samples]:
    """The three steps in memory with SpiffWorkflow alone."""
    parsed = processes.parse(processes.read_files(processes.DEFAULT_BPMN_DIR))
    engine = script_engine(WorkingCalendar(), CaseEffects())
    out = {step: Samples() for step in STEPS}

    def start() -> BpmnWorkflow:
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.get_next_task(spec_name="Start").data.update(START_DATA)
        wf.do_engine_steps()
        return wf

    def complete(wf: BpmnWorkflow) -> None:
        task = wf.get_next_task(state=TaskState.READY, spec_name="verify")
        task.data.update(ACCEPT)
        task.run()
        wf.do_engine_steps()

    def fire(wf: BpmnWorkflow) -> None:
        wf.refresh_timers()
        wf.do_engine_steps()

    with frozen(T0):
        flows = [out["start"].time(start) for _ in range(n)]
        for wf in flows:
            out["complete verify"].time(partial(complete, wf))
    with frozen(FIRE_AT):
        for wf in flows:
            out["fire timers"].time(partial(fire, wf))
    assert all(any(t.task_spec.name == "escalate_agency" for t in lifecycle_ready(wf)) for wf in flows)
    return out


def lifecycle_ready(wf: BpmnWorkflow) -> list[Any]:
    return list(wf.get_tasks(state=TaskState.READY, manual=True))


def through_engine(url: str, n: int) -> tuple[dict[str, Samples], dict[str, float]]:
    """The three steps as engine commands against a fresh database at `url`."""
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from engine import demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    out = {step: Samples() for step in STEPS}
    with app.app_context():
        upgrade()
        session = db.session()
        demo.seed(session, "bench-password")
        session.commit()
        with frozen(T0):
            ids = [out["start"].time(lambda: start(session)) for _ in range(n)]
            task_ids = [open_verify(session, case_id) for case_id in ids]
            for task_id in task_ids:
                out["complete verify"].time(partial(lifecycle.complete_task, session, VERIFIER, task_id, ACCEPT))
        with frozen(FIRE_AT):
            for case_id in ids:
                assert out["fire timers"].time(partial(lifecycle.fire_timers, session, case_id))
        sizes = storage(session, n)
        db.session.remove()
        db.engine.dispose()
    return out, sizes


def start(session: Any) -> int:
    sub = lifecycle.Submission(title="Sampah menumpuk", body="Sampah belum diangkut lima hari.", category="kebersihan")
    return lifecycle.start_case(session, sub).case.id


def open_verify(session: Any, case_id: int) -> str:
    from engine.tasks import TaskRecord, TaskStatus

    query = sa.select(TaskRecord.id).where(TaskRecord.case_id == case_id, TaskRecord.state == TaskStatus.READY)
    return str(session.scalar(query))


def storage(session: Any, n: int) -> dict[str, float]:
    """Bytes per case: the stored workflow state (compressed and as JSON), and on PostgreSQL whole tables."""
    states = [row[0] for row in session.execute(sa.text("select state from complaint"))]
    sizes = {
        "state (zlib)": statistics.mean(len(s) for s in states),
        "state (JSON)": statistics.mean(len(zlib.decompress(s)) for s in states),
    }
    if session.get_bind().dialect.name == "postgresql":
        for table in ("complaint", "task", "event", "follow_up"):
            total = session.scalar(sa.text(f"select pg_total_relation_size('{table}')"))
            sizes[f"{table} table+indexes"] = total / n
    return sizes


def fresh_postgres(url: str) -> str:
    """Create (or empty) the scratch database named in `url`; never point this at a database you keep."""
    target = sa.make_url(normalize_url(url))
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return target.render_as_string(hide_password=False)


def print_table(results: dict[str, dict[str, Samples]]) -> None:
    base = results["raw SpiffWorkflow"]
    click.echo(f"{'step':<18}" + "".join(f"{name:>28}" for name in results))
    for step in STEPS:
        cells = []
        for name, samples in results.items():
            s = samples[step]
            ratio = "" if name == "raw SpiffWorkflow" else f" ({s.median_ms / base[step].median_ms:4.1f}x)"
            cells.append(f"{s.median_ms:7.2f} / {s.p95_ms:7.2f} ms{ratio}".rjust(28))
        click.echo(f"{step:<18}" + "".join(cells))
    click.echo("cells: median / p95 per command; (Nx) = engine median ÷ raw SpiffWorkflow median")


@bench.command("engine")
@click.option("--cases", default=200, show_default=True, help="cases per backend")
@click.option(
    "--postgres-url",
    default="postgresql://postgres@127.0.0.1:5432/aduan_bench",
    show_default=True,
    help="a scratch database: it is dropped and re-created ('' to skip PostgreSQL)",
)
def engine_bench(cases: int, postgres_url: str) -> None:
    """Per-command cost (start, complete, fire timer) on SQLite and PostgreSQL vs raw SpiffWorkflow."""
    results: dict[str, dict[str, Samples]] = {"raw SpiffWorkflow": raw(cases)}
    sizes: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = "sqlite:///" + str(Path(tmp) / "bench.sqlite3")
        results["engine SQLite"], sizes["SQLite"] = through_engine(url, cases)
    if postgres_url:
        results["engine PostgreSQL"], sizes["PostgreSQL"] = through_engine(fresh_postgres(postgres_url), cases)
    click.echo(f"{cases} cases per backend; SpiffWorkflow {serialization.SERIALIZER_VERSION} state format")
    print_table(results)
    for backend, figures in sizes.items():
        click.echo(f"bytes per case, {backend}: " + ", ".join(f"{k} {v:,.0f}" for k, v in figures.items()))
