"""Scenario helpers for driving complaints through the engine, reloading from the database each step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from api.extensions import db
from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case, get_case
from engine.cases.tasks import TaskRecord, TaskStatus

VERIFIER = Actor("verifier", "verifier", "batam.diskominfo")
VERIFIER_HEAD = Actor("verifier.head", "supervisor", "batam.diskominfo")
DLH = Actor("dlh", "officer", "batam.dlh")
DLH_HEAD = Actor("dlh.head", "supervisor", "batam.dlh")
DISHUB = Actor("dishub", "officer", "batam.dishub")
DINKES = Actor("dinkes", "officer", "batam.dinkes")
PUSKESMAS = Actor("puskesmas", "officer", "batam.dinkes.puskesmas-sekupang")

# Monday 30 November 2026, 09:00 in Jakarta (WIB, UTC+7)
MONDAY_9AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Time stands still at Monday 09:00 WIB until a test moves it (SpiffWorkflow's clock too)."""
    with time_machine.travel(MONDAY_9AM, tick=False) as traveller:
        yield traveller


class Desk:
    """Drives one complaint through the engine, one command per call, session reset in between."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tracking_id = ""

    def _fresh(self) -> Session:
        db.session.remove()
        self.session = db.session()
        return self.session

    def submit(self, **fields: Any) -> lifecycle.Outcome:
        values = {"title": "Sampah menumpuk", "body": "Sampah di Jl. Ahmad Yani belum diangkut 5 hari.", **fields}
        outcome = lifecycle.start_case(self._fresh(), lifecycle.Submission(**values))
        self.tracking_id = outcome.case.tracking_id
        return outcome

    @property
    def case(self) -> Case:
        return get_case(self._fresh(), self.tracking_id)

    def open_tasks(self) -> dict[str, TaskRecord]:
        session = self._fresh()
        case = get_case(session, self.tracking_id)
        rows = session.scalars(
            sa.select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.state == TaskStatus.READY)
        ).all()
        return {r.name: r for r in rows}

    def task(self, name: str) -> TaskRecord:
        tasks = self.open_tasks()
        assert name in tasks, f"{name} is not open; open: {sorted(tasks)}"
        return tasks[name]

    def do(self, actor: Actor, name: str, **data: Any) -> lifecycle.Outcome:
        task_id = self.task(name).id
        return lifecycle.complete_task(self._fresh(), actor, task_id, data)

    def reply(self, **reply: Any) -> lifecycle.Outcome:
        case = get_case(self._fresh(), self.tracking_id)
        return lifecycle.reporter_reply(self.session, case, reply)

    def run_due(self) -> int:
        return lifecycle.run_due(self._fresh())

    def events(self) -> list[audit.Event]:
        session = self._fresh()
        return audit.history(session, get_case(session, self.tracking_id))


@pytest.fixture
def desk(session: Session, demo_directory: None) -> Desk:
    return Desk(session)
