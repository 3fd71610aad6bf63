"""`aduan bench history`: does a case get dearer as it lives? Cost of a command after 1 and after N loops.

One complaint goes round the "not satisfied" loop N times (the agency answers, the reporter is not
satisfied, the agency answers again …). After loop 1 and after loop N the same two commands are timed
(complete `respond`, the reporter's reply) in client CPU and wall time, on several cases side by side,
and the stored state is weighed. Target: after N loops at most 1.3 times the cost after one loop, the
state at most 1.5 times.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from bench import bench
from bench.engine_steps import T0, frozen
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord, TaskStatus

DLH = Actor("dlh", "officer", "batam.dlh")
VERIFIER = Actor("verifier", "verifier", "batam.diskominfo")
ANSWER = {"decision": "respond", "message": "Sudah kami tangani.", "final": True}
NOT_SATISFIED = {"message": "Belum beres.", "satisfied": False}


@dataclass
class Cost:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def measure(self, fn: Callable[[], Any]) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall) * 1000


def _open(session: Any, case_id: int, name: str) -> str:
    query = sa.select(TaskRecord.id).where(
        TaskRecord.case_id == case_id, TaskRecord.state == TaskStatus.READY, TaskRecord.name == name
    )
    return str(session.scalar(query))


def _loop(session: Any, case_id: int, respond: Cost | None = None, reply: Cost | None = None) -> None:
    """One round: the agency answers, the reporter is not satisfied (timed when costs are given)."""
    answer = partial(lifecycle.complete_task, session, DLH, _open(session, case_id, "respond"), ANSWER)
    respond.measure(answer) if respond else answer()
    again = partial(lifecycle.reporter_reply, session, session.get_one(Case, case_id), NOT_SATISFIED)
    reply.measure(again) if reply else again()


def run_history(url: str, loops: int, cases: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from engine.directory import demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    costs = {when: {"respond": Cost(), "reply": Cost()} for when in ("after 1", f"after {loops}")}
    sizes: dict[str, list[int]] = {"after 1": [], f"after {loops}": []}
    with app.app_context(), frozen(T0):
        upgrade()
        session = db.session()
        demo.seed(session, "bench-password")
        session.commit()
        ids = []
        for _ in range(cases):
            sub = lifecycle.Submission(title="Sampah", body="Sampah belum diangkut.", category="kebersihan")
            case_id = lifecycle.start_case(session, sub).case.id
            lifecycle.complete_task(session, VERIFIER, _open(session, case_id, "verify"), lifecycle_accept())
            ids.append(case_id)
        for loop in range(1, loops + 2):  # loop 2 is timed after one loop, loop N + 1 after N
            timed = "after 1" if loop == 2 else f"after {loops}" if loop == loops + 1 else None
            for case_id in ids:  # the cases side by side, so machine noise falls on both ends alike
                if timed:
                    _loop(session, case_id, costs[timed]["respond"], costs[timed]["reply"])
                else:
                    _loop(session, case_id)
            if loop in (1, loops):
                key = "after 1" if loop == 1 else f"after {loops}"
                sizes[key] = [len(session.get_one(Case, i).state) for i in ids]
        db.session.remove()
        db.engine.dispose()
    return {"costs": costs, "sizes": {k: statistics.median(v) for k, v in sizes.items()}}


def lifecycle_accept() -> dict[str, Any]:
    return {"decision": "accept", "agency": "batam.dlh"}


@bench.command("history")
@click.option("--loops", default=40, show_default=True, help="'not satisfied' rounds per case")
@click.option("--cases", default=20, show_default=True, help="cases going round side by side")
def history_bench(loops: int, cases: int) -> None:
    """Command cost and stored state after 1 and after --loops clarification loops (SQLite, client CPU)."""
    if loops < 3:
        raise click.BadParameter("at least 3", param_hint="--loops")
    with tempfile.TemporaryDirectory() as tmp:
        result = run_history("sqlite:///" + str(Path(tmp) / "history.sqlite3"), loops, cases)
    first, last = "after 1", f"after {loops}"
    click.echo(f"{cases} cases, {loops} loops each (SQLite); median per command, client CPU / wall")
    for command in ("respond", "reply"):
        a, b = result["costs"][first][command], result["costs"][last][command]
        click.echo(
            f"{command:<8} {first}: {a.cpu_ms:6.2f} / {a.wall_ms:6.2f} ms"
            f"   {last}: {b.cpu_ms:6.2f} / {b.wall_ms:6.2f} ms"
            f"   ratio CPU {b.cpu_ms / a.cpu_ms:4.2f}x (target ≤ 1.3x)"
        )
    s1, s2 = result["sizes"][first], result["sizes"][last]
    click.echo(f"stored state (zlib): {first} {s1:,.0f} B, {last} {s2:,.0f} B, ratio {s2 / s1:4.2f}x (target ≤ 1.5x)")
