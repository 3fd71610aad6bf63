"""A case's timeline for auditors: every event and read in time order, with deadlines judged met or missed.

Built from the audit trail (events carry actor, role, task, the data changed, the diagram elements passed
and the tasks opened with their deadlines), the task read model (due_at against ended_at) and the read
log. The chain is verified on the way, so a tampered trail shows where it breaks.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.audit import chain as audit
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord, TaskStatus
from engine.processes.registry import ProcessVersion

STRUCTURED = ("changes", "elements", "opened")
"""Event data keys the timeline lifts out of `data`; the rest (input, reply, follow-ups…) stays in `data`."""


class Deadline(StrEnum):
    """How a task fared against its deadline."""

    MET = "met"
    MISSED = "missed"
    OVERDUE = "overdue"  # still open, past its deadline
    PENDING = "pending"  # still open, not yet due
    CANCELLED = "cancelled"  # ended by the diagram before its deadline
    NONE = "none"  # no deadline


def deadline(task: TaskRecord, now: datetime) -> Deadline:
    """Judge `task` by its deadline: a task ended (or still open) after `due_at` missed it."""
    if task.due_at is None:
        return Deadline.NONE
    if task.state == TaskStatus.READY:
        return Deadline.OVERDUE if now > task.due_at else Deadline.PENDING
    ended = task.ended_at or now
    if ended > task.due_at:
        return Deadline.MISSED
    return Deadline.MET if task.state == TaskStatus.COMPLETED else Deadline.CANCELLED


def chain_status(case: Case, events: list[audit.Event]) -> dict[str, Any]:
    """`{valid, events, broken: {seq, reason} | None}` of the case's hash chain."""
    broken = audit.check_case(case, events)
    return {
        "valid": broken is None,
        "events": len(events),
        "broken": None if broken is None else {"seq": broken.seq, "reason": broken.reason},
    }


def task_view(task: TaskRecord, now: datetime) -> dict[str, Any]:
    fields = ("id", "name", "title", "role", "agency", "assignee", "state", "created_at", "due_at", "ended_at")
    view = {name: getattr(task, name) for name in fields}
    view.update(completed_by=task.completed_by, deadline=deadline(task, now).value)
    return view


def event_entry(event: audit.Event, verdicts: dict[str, str]) -> dict[str, Any]:
    """One event as a timeline entry; a completed task carries its deadline verdict."""
    data = dict(event.data)
    entry: dict[str, Any] = {
        "kind": "event",
        "at": event.at,
        "seq": event.seq,
        "type": event.type,
        "actor": event.actor,
        "actor_role": event.actor_role,
        "task": event.task,
        **{key: data.pop(key, {} if key == "changes" else []) for key in STRUCTURED},
        "data": data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    task_id = data.get("task_id")
    if event.type == "task_completed" and isinstance(task_id, str) and task_id in verdicts:
        entry["deadline"] = verdicts[task_id]
    return entry


def read_entry(read: audit.ReadLog) -> dict[str, Any]:
    return {"kind": "read", "at": read.at, "actor": read.actor, "actor_role": read.actor_role, "what": read.what}


def timeline(session: Session, case: Case, now: datetime, with_reads: bool) -> dict[str, Any]:
    """The case's timeline; auditors' reads are merged in only when `with_reads`."""
    events = audit.history(session, case)
    rows = session.scalars(sa.select(TaskRecord).where(TaskRecord.case_id == case.id).order_by(TaskRecord.created_at))
    tasks = [task_view(t, now) for t in rows]
    verdicts = {t["id"]: t["deadline"] for t in tasks}
    entries = [event_entry(e, verdicts) for e in events]
    if with_reads:
        entries += [read_entry(r) for r in audit.reads(session, case)]
    entries.sort(key=lambda e: (e["at"], e["kind"] == "read", e.get("seq", 0)))
    version = session.get(ProcessVersion, case.process_version_id)
    return {
        "tracking_id": case.tracking_id,
        "status": case.status,
        "process": {"key": version.key, "version": version.version} if version else None,
        "chain": chain_status(case, events),
        "elements": [element for e in events for element in e.data.get("elements", [])],
        "migrations": [event_entry(e, verdicts) for e in events if e.type.startswith("migrat")],
        "tasks": tasks,
        "entries": entries,
    }
