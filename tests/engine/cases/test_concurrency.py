"""Two sessions completing the same task at once: exactly one wins, the other gets Conflict."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.extensions import db
from engine.cases import lifecycle
from engine.cases.case import Case
from engine.errors import Conflict
from tests.engine.conftest import VERIFIER, Desk

ACCEPT = {"decision": "accept", "agency": "batam.dlh"}


def run_in_thread(fn: Callable[[], Any], results: list[Any]) -> threading.Thread:
    def target() -> None:
        try:
            results.append(fn())
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def completions(desk: Desk) -> int:
    return sum(1 for e in desk.events() if e.type == "task_completed")


def test_the_second_writer_of_an_interleaved_race_gets_conflict_and_leaves_nothing(desk: Desk, clock: object) -> None:
    """A has saved but not committed while B restores the same version; A commits, then B must fail."""
    desk.submit()
    task_id = desk.task("verify").id
    make = sessionmaker(bind=db.engine)
    a, b = make(), make()
    b_has_loaded, a_has_flushed = threading.Event(), threading.Event()

    @sa.event.listens_for(a, "before_commit")  # A's statements have run (its case row is written by Core,
    def hold_commit(session: Session) -> None:  # not by an ORM flush); its COMMIT waits for B's load
        a_has_flushed.set()
        assert b_has_loaded.wait(10)

    @sa.event.listens_for(b, "loaded_as_persistent")
    def note_load(session: Session, instance: object) -> None:
        if isinstance(instance, Case):
            b_has_loaded.set()

    results_a: list[Any] = []
    results_b: list[Any] = []
    thread_a = run_in_thread(lambda: lifecycle.complete_task(a, VERIFIER, task_id, ACCEPT), results_a)
    assert a_has_flushed.wait(10)
    thread_b = run_in_thread(lambda: lifecycle.complete_task(b, VERIFIER, task_id, ACCEPT), results_b)
    thread_a.join(20)
    thread_b.join(20)
    a.close()
    b.close()
    assert isinstance(results_a[0], lifecycle.Outcome)
    assert isinstance(results_b[0], Conflict), results_b
    assert completions(desk) == 1
    assert desk.case.status == "dispositioned"
    assert set(desk.open_tasks()) == {"respond"}


def test_many_sessions_racing_on_one_task_complete_it_once(desk: Desk, clock: object) -> None:
    desk.submit()
    task_id = desk.task("verify").id
    make = sessionmaker(bind=db.engine)
    start = threading.Barrier(4)
    results: list[Any] = []

    def attempt() -> Any:
        session = make()
        try:
            start.wait(10)
            return lifecycle.complete_task(session, VERIFIER, task_id, ACCEPT)
        finally:
            session.close()

    threads = [run_in_thread(attempt, results) for _ in range(4)]
    for thread in threads:
        thread.join(30)
    wins = [r for r in results if isinstance(r, lifecycle.Outcome)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert (len(wins), len(losses)) == (1, 3), results
    assert completions(desk) == 1
