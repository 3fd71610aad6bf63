"""`aduan bench engine`: per-command cost through the engine (SQLite, PostgreSQL) next to raw SpiffWorkflow.

The steps of the default diagram are measured in one run: start a case (to `verify`), complete `verify`
(accept → `respond`), fire the due timers of `respond` (reminder + breach → escalation task), complete
`respond`, the reporter's reply. Firing is measured both ways a service fires: half the cases (the even ones)
one command each (`fire_timers`), the other half as the scheduler does, `TIMER_BATCH` cases to a transaction
(`fire_due`; each case of a batch is charged the batch's cost divided by its size), next to raw SpiffWorkflow
firing the same cases one by one.
"Raw" runs the very same spec and script environment in memory, with no database, no serialization and no
read models; the engine figure is the whole command (restore, step, save, read models, audit, commit).
The raw steps run twice: with SpiffWorkflow's plain eval/exec engine, the baseline of every ratio (issue 14:
"raw SpiffWorkflow"), and with the restricted script engine every command uses (engine.processes.sandbox), so
the last line gives what the sandbox costs.
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
from engine.calendar.working_days import WorkingCalendar
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.db import normalize_url
from engine.processes import registry as processes
from engine.processes import sandbox
from engine.processes.scripting import CaseEffects, helpers, script_engine

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


STEPS = ("start", "complete verify", "fire timers", "complete respond", "reply")
SWEPT = "fire timers, batch"  # reported after "fire timers" when `interleaved` sweeps (its odd cases)
RESPOND = {"decision": "respond", "message": "Sampah sudah diangkut.", "final": True}
REPLY = {"message": "Terima kasih", "satisfied": True, "rating": 5}
DLH = Actor("dlh", "officer", "batam.dlh")
RAW = "raw SpiffWorkflow"  # SpiffWorkflow's own eval/exec engine: the baseline of the ratios
RESTRICTED = "raw restricted"  # the same with the sandboxed script engine: what the sandbox costs (not a column)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    try:
        import time_machine
    except ImportError as exc:  # pragma: no cover
        raise click.ClickException("aduan bench needs time-machine: pip install -e '.[test]'") from exc
    with time_machine.travel(at, tick=False):
        yield


@dataclass
class Cost:
    """Client CPU and wall time of each run of one step (seconds)."""

    cpu: Samples = field(default_factory=Samples)
    wall: Samples = field(default_factory=Samples)

    def measure(self, fn: Callable[[], Any]) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        self.cpu.values.append(time.process_time() - cpu)
        self.wall.values.append(time.perf_counter() - wall)
        return result

    def measure_batch(self, fn: Callable[[], Any], size: int) -> Any:
        """`fn` does the work of `size` cases: each is charged an equal share."""
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        spent_cpu, spent_wall = time.process_time() - cpu, time.perf_counter() - wall
        self.cpu.values.extend([spent_cpu / size] * size)
        self.wall.values.extend([spent_wall / size] * size)
        return result


class Raw:
    """The steps in memory with SpiffWorkflow alone: same spec, same script environment, no database."""

    def __init__(self, restricted: bool = False) -> None:
        parsed = processes.parse(processes.read_files(processes.DEFAULT_BPMN_DIR))
        self.spec, self.subprocess_specs = parsed.spec, parsed.subprocess_specs
        self.name = RESTRICTED if restricted else RAW
        if restricted:
            self.engine = script_engine(WorkingCalendar(), CaseEffects())
        else:
            self.engine = sandbox.unrestricted_engine(helpers(WorkingCalendar(), CaseEffects()))
        self.flows: list[BpmnWorkflow] = []

    def count(self) -> int:
        return len(self.flows)

    def run(self, step: str, i: int, cost: Cost) -> None:
        if step == "start":
            self.flows.append(cost.measure(self._start))
            return
        wf = self.flows[i]
        action = {
            "complete verify": partial(self._complete, wf, "verify", ACCEPT),
            "fire timers": partial(self._fire, wf),
            SWEPT: partial(self._fire, wf),
            "complete respond": partial(self._complete, wf, "respond", RESPOND),
            "reply": partial(self._reply, wf),
        }[step]
        cost.measure(action)

    def _start(self) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.engine)
        wf.get_next_task(spec_name="Start").data.update(START_DATA)
        wf.do_engine_steps()
        return wf

    @staticmethod
    def _complete(wf: BpmnWorkflow, name: str, data: dict[str, Any]) -> None:
        task = wf.get_next_task(state=TaskState.READY, spec_name=name)
        task.data.update(data)
        task.run()
        wf.do_engine_steps()

    @staticmethod
    def _fire(wf: BpmnWorkflow) -> None:
        wf.refresh_timers()
        wf.do_engine_steps()

    @staticmethod
    def _reply(wf: BpmnWorkflow) -> None:
        from SpiffWorkflow.bpmn import BpmnEvent
        from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

        wf.send_event(BpmnEvent(MessageEventDefinition(lifecycle.REPLY_MESSAGE), payload=dict(REPLY)))
        wf.do_engine_steps()


class Engine:
    """The steps as engine commands on one database, each in a session of its own (as one request)."""

    def __init__(self, name: str, url: str) -> None:
        from flask_migrate import upgrade

        from api import create_app
        from api.extensions import db
        from engine.directory import demo

        self.name, self.db = name, db
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with self.app.app_context():
            upgrade()
            demo.seed(db.session(), "bench-password")
            db.session.commit()
        self.case_ids: list[int] = []
        self.due: list[int] = []  # cases waiting for the next batch (SWEPT)

    def count(self) -> int:
        return len(self.case_ids)

    def run(self, step: str, i: int, cost: Cost) -> None:
        with self.app.app_context():
            session = self.db.session()
            if step == "start":
                self.case_ids.append(cost.measure(partial(start, session)))
            elif step in ("complete verify", "complete respond"):
                name, actor, data = (
                    ("verify", VERIFIER, ACCEPT) if step == "complete verify" else ("respond", DLH, RESPOND)
                )
                task_id = open_task(session, self.case_ids[i], name)
                cost.measure(partial(lifecycle.complete_task, session, actor, task_id, data))
            elif step == "fire timers":
                assert cost.measure(partial(lifecycle.fire_timers, session, self.case_ids[i]))
            elif step == SWEPT:
                self.due.append(self.case_ids[i])
            else:
                from engine.cases.case import Case

                case = session.get_one(Case, self.case_ids[i])
                cost.measure(partial(lifecycle.reporter_reply, session, case, dict(REPLY)))
            self.db.session.remove()

    def sweep(self, cost: Cost) -> None:
        """Fire the cases collected for a batch, in one transaction (`lifecycle.fire_due`)."""
        with self.app.app_context():
            due, self.due = self.due, []
            fired = cost.measure_batch(partial(lifecycle.fire_due, self.db.session(), due), len(due))
            assert fired == sorted(due), (fired, due)
            self.db.session.remove()

    def close(self) -> None:
        with self.app.app_context():
            self.db.engine.dispose()


Costs = dict[str, dict[str, Cost]]  # backend → step → cost
Summary = dict[str, dict[str, dict[str, tuple[float, float, float]]]]  # backend → step → measure → figures


def interleaved(subjects: list[Any], cases: int, batch: int = 0) -> Costs:
    """One run: every step for every case on every subject, the subjects' order rotating from case to case,
    so that the machine's moods fall on all of them alike. With `batch`, the odd cases' timers are fired
    `batch` cases to a transaction by the engine subjects (the `SWEPT` row), the even ones one by one."""
    reported = (*STEPS[:3], SWEPT, *STEPS[3:]) if batch else STEPS
    costs: Costs = {s.name: {step: Cost() for step in reported} for s in subjects}
    bases = {s.name: s.count() for s in subjects}  # cases of earlier runs
    for step in STEPS:
        with frozen(T0 if step in ("start", "complete verify") else FIRE_AT):
            for i in range(cases):
                order = subjects[i % len(subjects) :] + subjects[: i % len(subjects)]
                row = SWEPT if batch and step == "fire timers" and i % 2 else step
                for subject in order:
                    subject.run(row, bases[subject.name] + i, costs[subject.name][row])
                    if row == SWEPT and isinstance(subject, Engine) and (len(subject.due) == batch or i + 2 >= cases):
                        subject.sweep(costs[subject.name][row])  # a full batch, or the run's last odd case
    return costs


def start(session: Any) -> int:
    sub = lifecycle.Submission(title="Sampah menumpuk", body="Sampah belum diangkut lima hari.", category="kebersihan")
    return lifecycle.start_case(session, sub).case.id


def open_task(session: Any, case_id: int, name: str = "verify") -> str:
    from engine.cases.tasks import TaskRecord, TaskStatus

    query = sa.select(TaskRecord.id).where(
        TaskRecord.case_id == case_id, TaskRecord.state == TaskStatus.READY, TaskRecord.name == name
    )
    return str(session.scalar(query))


def open_verify(session: Any, case_id: int) -> str:
    return open_task(session, case_id, "verify")


def storage(session: Any, n: int) -> dict[str, float]:
    """Bytes per case: the stored workflow state (compressed and as JSON)."""
    states = [row[0] for row in session.execute(sa.text("select state from complaint"))]
    return {
        "state (zlib)": statistics.mean(len(s) for s in states),
        "state (JSON)": statistics.mean(len(zlib.decompress(s)) for s in states),
    }


def fresh_postgres(url: str) -> str:
    """Create (or empty) the scratch database named in `url`; never point this at a database you keep."""
    target = sa.make_url(normalize_url(url))
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return target.render_as_string(hide_password=False)


def summarize(runs: list[Costs]) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    """backend → step → measure → (median of the runs' medians, lowest, highest), in ms; and the ratios
    to raw SpiffWorkflow (per run, then the median of the runs)."""
    out: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {}
    for name in runs[0]:
        out[name] = {}
        for step in runs[0][name]:
            cells = {}
            for measure in ("cpu", "wall"):
                medians = [getattr(run[name][step], measure).median_ms for run in runs]
                cells[measure] = (statistics.median(medians), min(medians), max(medians))
                if name != RAW:  # the engine (or the restricted raw steps) ÷ unrestricted raw SpiffWorkflow
                    ratios = [
                        getattr(run[name][step], measure).median_ms / getattr(run[RAW][step], measure).median_ms
                        for run in runs
                    ]
                    cells[measure + " ratio"] = (statistics.median(ratios), min(ratios), max(ratios))
            out[name][step] = cells
    return out


def print_summary(summary: dict[str, dict[str, dict[str, tuple[float, float, float]]]], runs: int, cases: int) -> None:
    click.echo(f"{runs} runs x {cases} cases, interleaved (order rotating per case); median of the runs' medians")
    click.echo("[lowest-highest run]; ratio = engine ÷ raw SpiffWorkflow (its own eval/exec engine), same run")
    sandbox_costs = summary.get(RESTRICTED)
    summary = {name: steps for name, steps in summary.items() if name != RESTRICTED}
    for measure in ("cpu", "wall"):
        click.echo(f"\nclient {measure.upper()} per command (ms)")
        click.echo(f"{'step':<18}" + "".join(f"{name:>34}" for name in summary))
        for step in summary[RAW]:
            cells = []
            for name, steps in summary.items():
                med, lo, hi = steps[step][measure]
                cell = f"{med:6.2f} [{lo:.2f}-{hi:.2f}]"
                if name != RAW:
                    r, rlo, rhi = steps[step][measure + " ratio"]
                    cell += f" {r:3.1f}x [{rlo:.1f}-{rhi:.1f}]"
                cells.append(cell.rjust(34))
            click.echo(f"{step:<18}" + "".join(cells))
    if sandbox_costs is not None:
        click.echo(sandbox_ratio(sandbox_costs))


def sandbox_ratio(restricted: dict[str, dict[str, tuple[float, float, float]]]) -> str:
    """One line: raw restricted ÷ raw unrestricted client CPU per step, measured in the same runs."""
    cells = [f"{step} {restricted[step]['cpu ratio'][0]:.2f}x" for step in STEPS]
    return "\nrestricted script engine ÷ unrestricted (raw SpiffWorkflow, CPU): " + ", ".join(cells)


@bench.command("engine")
@click.option("--cases", default=200, show_default=True, help="cases per run and backend")
@click.option("--runs", default=3, show_default=True, help="runs (each with new cases)")
@click.option(
    "--postgres-url",
    default="postgresql://postgres@127.0.0.1:5432/aduan_bench",
    show_default=True,
    help="a scratch database: it is dropped and re-created ('' to skip PostgreSQL)",
)
@click.option(
    "--batch", default=lifecycle.TIMER_BATCH, show_default=True,
    help="cases per transaction of the batch firing row (half the cases); 0: every case fired alone",
)  # fmt: skip
def engine_bench(cases: int, runs: int, postgres_url: str, batch: int) -> None:
    """Per-command client CPU and wall (start, complete verify, fire timers one case at a time and in
    batches, complete respond, reply) on SQLite and PostgreSQL next to raw SpiffWorkflow, interleaved in one
    process."""
    summary = run_engine_bench(cases, runs, postgres_url, batch)
    print_summary(summary, runs, cases)


def run_engine_bench(
    cases: int, runs: int, postgres_url: str, batch: int = 0
) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    with tempfile.TemporaryDirectory() as tmp:
        subjects: list[Any] = [
            Raw(),
            Raw(restricted=True),
            Engine("engine SQLite", "sqlite:///" + str(Path(tmp) / "bench.sqlite3")),
        ]
        if postgres_url:
            subjects.append(Engine("engine PostgreSQL", fresh_postgres(postgres_url)))
        try:
            return measured_runs(subjects, cases, runs, batch)
        finally:
            for subject in subjects[2:]:
                subject.close()


def measured_runs(subjects: list[Any], cases: int, runs: int, batch: int = 0) -> Summary:
    """A warm-up (parsed specs, caches, connection pools), then `runs` interleaved runs, summarized."""
    interleaved(subjects, min(cases, 10), batch)
    return summarize([interleaved(subjects, cases, batch) for _ in range(runs)])
