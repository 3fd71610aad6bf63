"""Timers as rows: a case's earliest pending timer goes into `next_timer_at` after every save."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from sqlalchemy.orm import Session

from engine.cases.case import Case


def _has_timer(definition: object) -> bool:
    if isinstance(definition, MultipleEventDefinition):
        return any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions)
    return isinstance(definition, TimerEventDefinition)


def next_timer_at(waiting: Iterable[Task]) -> datetime | None:
    """Earliest due time of any waiting timer (boundary, intermediate or event-based gateway), or None.

    SpiffWorkflow fixes a timer's absolute due time in `internal_data['event_value']` when the timer
    starts waiting (a dict with `next` for cycles); gateways own their timers in a MultipleEventDefinition.
    """
    due: list[datetime] = []  # `waiting`: the WAITING tasks of the workflow, subprocesses included
    for task in waiting:
        if not _has_timer(getattr(task.task_spec, "event_definition", None)):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):
            value = value.get("next")
        if isinstance(value, str):
            due.append(TimerEventDefinition.get_datetime(value))
    return min(due) if due else None


def due_case_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of cases with a timer due at `now`, oldest due first (reads the indexed column only)."""
    query = (
        sa.select(Case.id)
        .where(Case.next_timer_at.is_not(None), Case.next_timer_at < now)
        .order_by(Case.next_timer_at)
        .limit(limit)
    )
    return list(session.scalars(query))
