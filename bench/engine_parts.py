"""`aduan bench engine-parts`: where an engine command's client CPU goes, part by part (ms per command).

The five steps of `aduan bench engine` run as engine commands on one backend, each part of the command timed
by a wrapper (`time.process_time`, the outermost labelled part only, inside the measured command only); what
no part claims is the session, connection and transaction handling and the Python between the parts. The
wrappers add a few per cent to the total. Raw SpiffWorkflow's step is measured on the same cases after them.
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bench import bench
from bench import engine_steps as steps

SPIFF = "SpiffWorkflow's step (run, engine steps, timers, events)"
WALKS = "walks of the task tree (ready, waiting, passed)"
FIRST = "first SELECT (task + case, case FOR UPDATE, or the token)"
MODELS = "read models (task rows, KPIs, outbox rows)"
REST = "session, connection, transaction, Python glue"


def _parts() -> list[tuple[Any, str, str]]:
    """(object, attribute, part) of every wrapped function."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.task import Task
    from sqlalchemy.orm import Session

    from engine.audit import chain
    from engine.cases import forms, lifecycle, tasks, writes
    from engine.directory import snapshot
    from engine.notify import outbox
    from engine.processes import serialization
    from engine.stats import kpi

    return [
        (BpmnWorkflow, "do_engine_steps", SPIFF), (Task, "run", SPIFF), (BpmnWorkflow, "refresh_timers", SPIFF),
        (BpmnWorkflow, "send_event", SPIFF), (BpmnWorkflow, "get_tasks", WALKS), (lifecycle, "_task_ids", WALKS),
        (lifecycle.Scan, "of", WALKS), (serialization, "load", "restore the state (zlib, orjson, task tree)"),
        (serialization, "dump", "save the state (task tree, orjson, zlib)"),
        (serialization, "prune", "prune the state"),
        (tasks, "get_task_with_case", FIRST), (snapshot, "current", FIRST), (Session, "execute", FIRST),
        (writes, "updating", "the case row's INSERT or UPDATE (built)"),
        (writes, "inserting", "the case row's INSERT or UPDATE (built)"),
        (lifecycle, "write_with_children", "the write: case row and children (tasks, event, messages, outbox)"),
        (Session, "commit", "COMMIT"), (forms, "validate", "form validation (JSON Schema)"),
        (tasks, "opened", MODELS), (tasks, "upsert", MODELS), (kpi, "record", MODELS), (outbox, "messages", MODELS),
        (chain, "link", "audit event (canonical JSON, sha256)"),
    ]  # fmt: skip


class Clock:
    """CPU per part of the commands measured while `active`."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.active = False
        self.depth = 0

    def wrap(self, fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth or not self.active:
                return fn(*args, **kwargs)
            self.depth += 1
            began = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[part] += time.process_time() - began
                self.depth -= 1

        return timed


@contextmanager
def instrumented(clock: Clock) -> Iterator[None]:
    """The parts wrapped, and `Cost.measure` marking the measured command, for the block."""
    saved = [(obj, name, getattr(obj, name)) for obj, name, _part in _parts()]
    measure = steps.Cost.measure

    def active(self: steps.Cost, fn: Callable[[], Any]) -> Any:
        clock.active = True
        try:
            return measure(self, fn)
        finally:
            clock.active = False

    try:
        for obj, name, part in _parts():
            setattr(obj, name, clock.wrap(getattr(obj, name), part))
        steps.Cost.measure = active  # type: ignore[method-assign]
        yield
    finally:
        steps.Cost.measure = measure  # type: ignore[method-assign]
        for obj, name, fn in saved:
            setattr(obj, name, fn)


def run_parts(url: str, cases: int) -> dict[str, dict[str, float]]:
    """step → part → ms per command (with `command` and `raw SpiffWorkflow`)."""
    engine, raw, clock = steps.Engine("engine", url), steps.Raw(), Clock()
    steps.interleaved([raw, engine], min(cases, 10))  # warm-up
    out: dict[str, dict[str, float]] = {}
    with instrumented(clock):
        base = engine.count()
        for step in steps.STEPS:
            with steps.frozen(steps.T0 if step in ("start", "complete verify") else steps.FIRE_AT):
                cost, raw_cost = steps.Cost(), steps.Cost()
                clock.spent.clear()
                for i in range(cases):
                    engine.run(step, base + i, cost)
                parts = {part: spent / cases * 1000 for part, spent in clock.spent.items()}
                for i in range(cases):
                    raw.run(step, base + i, raw_cost)
            command = sum(cost.cpu.values) / cases * 1000
            parts[REST] = command - sum(parts.values())
            out[step] = {**parts, "command": command, "raw SpiffWorkflow": sum(raw_cost.cpu.values) / cases * 1000}
    engine.close()
    return out


@bench.command("engine-parts")
@click.option("--cases", default=150, show_default=True, help="commands per step")
@click.option(
    "--postgres-url",
    default="",
    help="a scratch PostgreSQL database (dropped and re-created); without it, a temporary SQLite file",
)
def engine_parts(cases: int, postgres_url: str) -> None:
    """Client CPU of each part of the five engine commands (ms per command, mean), next to raw SpiffWorkflow."""
    with tempfile.TemporaryDirectory() as tmp:
        url = steps.fresh_postgres(postgres_url) if postgres_url else "sqlite:///" + str(Path(tmp) / "parts.sqlite3")
        result = run_parts(url, cases)
    names = sorted({part for parts in result.values() for part in parts} - {"command", "raw SpiffWorkflow", REST})
    click.echo(f"{cases} commands per step; ms of client CPU per command (mean), wrappers included")
    click.echo(f"{'part':<58}" + "".join(f"{step:>18}" for step in steps.STEPS))
    for name in [*names, REST, "command", "raw SpiffWorkflow"]:
        click.echo(f"{name:<58}" + "".join(f"{result[step].get(name, 0.0):18.2f}" for step in steps.STEPS))
