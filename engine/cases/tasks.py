"""The task read model: one row per user task a case has offered, kept in step with the workflow.

Inboxes query this table (role, agency, state, due_at); nothing here deserializes a workflow. Rows are
kept after a task leaves READY (state COMPLETED or CANCELLED), so a late completer learns the task is no
longer ready (409) instead of not found, and the history of who did what stays queryable.
"""

from __future__ import annotations

import base64
import functools
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.task import Task
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from engine.cases import forms
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.db import Base, Batch, JSONType, UTCDateTime, case_reference, insert_rows, utcnow, written
from engine.directory.agencies import subtree_clause
from engine.errors import Conflict, InvalidData, NotFound


class TaskStatus(StrEnum):
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskRecord(Base):
    """A user task of a case: who may do it (role, agency), by when, and who holds it."""

    __tablename__ = "task"
    __table_args__ = (
        sa.Index("ix_task_inbox", "state", "role", "agency", "due_at"),
        # an inbox over a subtree (agency = X or LIKE 'X.%') in deadline order: walked in order, stops at the page
        sa.Index("ix_task_inbox_due", "state", "role", "due_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(case_reference(), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(32))
    agency: Mapped[str | None] = mapped_column(sa.String(200))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    form: Mapped[str] = mapped_column(sa.String(200))
    reassigns: Mapped[str | None] = mapped_column(sa.String(100))
    # what the diagram proposes for the form (e.g. the routing decision's agency), shown and pre-filled
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    assignee: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16), default=TaskStatus.READY)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(sa.String(64))


def describe(task: Task, engine: PythonScriptEngine) -> dict[str, Any]:
    """Read-model columns of a READY user task, from its lane and `spiffworkflow:properties`.

    The optional `proposal` property is an expression giving form values the diagram proposes, such as
    `{'agency': proposed_agency}` from the routing decision; only JSON scalars of it are kept."""
    props = task.task_spec.extensions.get("properties", {})
    due = engine.evaluate(task, props["dueAt"]) if props.get("dueAt") else None
    proposal = engine.evaluate(task, props["proposal"]) if props.get("proposal") else None
    return {
        "name": task.task_spec.name,
        "title": task.task_spec.bpmn_name or task.task_spec.name,
        "role": task.task_spec.lane,
        "agency": engine.evaluate(task, props["agency"]) if props.get("agency") else None,
        "due_at": datetime.fromisoformat(due) if isinstance(due, str) else None,
        "form": props.get(forms.FORMS_PROPERTY, ""),
        "reassigns": props.get("reassigns"),
        "proposal": _scalars(proposal),
    }


def _scalars(proposal: object) -> dict[str, Any] | None:
    """The proposed values that a form field can take (str, number, bool), by field name."""
    if not isinstance(proposal, dict):
        return None
    kept = {str(k): v for k, v in proposal.items() if isinstance(v, str | int | float | bool)}
    return kept or None


def opened(
    ready_tasks: list[Task], ready_before: set[str], engine: PythonScriptEngine, now: datetime
) -> list[TaskRecord]:
    """Rows for the READY user tasks that were not READY when the command restored the workflow."""
    return [
        TaskRecord(id=str(t.id), created_at=now, state=TaskStatus.READY, **describe(t, engine))
        for t in ready_tasks
        if str(t.id) not in ready_before
    ]


def upsert(
    session: Session,
    case_id: int,
    opened: list[TaskRecord],
    ended: set[str],
    completed: str | None,
    actor: Actor,
    now: datetime,
) -> Batch | None:
    """The statement that inserts the opened rows and ends the rows that left READY (one upsert), if any.

    The case's READY rows are exactly its READY user tasks at the last save, so the command knows them from
    the restored workflow without reading them: an ended row always exists and takes the `ON CONFLICT`
    path, which changes only its state, end and completer (the other values of its VALUES row are unused).
    User tasks end only by a command: `completed` is the one this command completed; any other row that left
    READY was cancelled by the diagram (a terminate end, an interrupting event).
    """
    columns = [c.key for c in TaskRecord.__table__.columns]
    values = [{c: getattr(row, c) for c in columns} for row in opened]
    for tid in sorted(ended):
        done = tid == completed
        values.append(
            {**_PLACEHOLDER, "id": tid, "case_id": case_id, "created_at": now, "ended_at": now,
             "state": TaskStatus.COMPLETED if done else TaskStatus.CANCELLED,
             "completed_by": actor.username if done else None}
        )  # fmt: skip
        row = session.identity_map.get(session.identity_key(TaskRecord, tid))
        if isinstance(row, TaskRecord):  # a row this session holds shows its new state without a re-read
            for name in ("state", "ended_at", "completed_by"):
                set_committed_value(row, name, values[-1][name])
            written(session, row)
    if not values:
        return None
    return insert_rows(TASK_TABLE, values, "task", ENDED)


# an ended row exists (it was READY): only its end is written, and only while it is still READY
ENDED = (
    " ON CONFLICT (id) DO UPDATE SET state = excluded.state, ended_at = excluded.ended_at,"
    " completed_by = excluded.completed_by WHERE task.state = 'ready'"
)


TASK_TABLE: sa.Table = TaskRecord.__table__  # type: ignore[assignment]
_PLACEHOLDER = {"name": "", "title": "", "role": "", "agency": None, "due_at": None, "form": "", "reassigns": None,
                "proposal": None, "assignee": None}  # fmt: skip


def get_task(session: Session, actor: Actor, task_id: str) -> TaskRecord:
    """A task the actor may do (any state); NotFound when it does not exist or is out of scope."""
    row = session.get(TaskRecord, task_id) if len(task_id) <= 36 else None
    if row is None or not actor.may_do(row.role, row.agency):
        raise NotFound(f"no task {task_id!r}")
    return row


def get_task_with_case(
    session: Session, actor: Actor, task_id: str, *extra: sa.ColumnElement[Any]
) -> tuple[TaskRecord, Case, tuple[Any, ...]]:
    """`get_task` and its case in one SELECT, plus the values of the `extra` columns (e.g. the configuration
    token)."""
    query = _with_case(extra)
    found = session.execute(query, {"task_id": task_id}).one_or_none() if len(task_id) <= 36 else None
    if found is None or not actor.may_do(found[0].role, found[0].agency):
        raise NotFound(f"no task {task_id!r}")
    return found[0], found[1], tuple(found[2:])


@functools.lru_cache(maxsize=8)
def _with_case(extra: tuple[sa.ColumnElement[Any], ...]) -> sa.Select[Any]:
    """The statement of `get_task_with_case`, built once (building it and its cache key cost more than its
    compiled form's lookup)."""
    query = sa.select(TaskRecord, Case, *extra).join(Case, Case.id == TaskRecord.case_id)
    return query.where(TaskRecord.id == sa.bindparam("task_id"))


def ensure_ready_for(row: TaskRecord, actor: Actor) -> None:
    """Conflict unless the task is still READY and not held by someone else."""
    if row.state != TaskStatus.READY:
        raise Conflict(f"task {row.id} is no longer ready ({row.state})")
    if row.assignee not in (None, actor.username):
        raise Conflict(f"task {row.id} is claimed by {row.assignee}")


def inbox_query(actor: Actor, assigned_to_me: bool = False) -> sa.Select[Any]:
    """READY tasks the actor may do, earliest deadline first (indexed by state, role, agency, due_at)."""
    query = sa.select(TaskRecord).where(TaskRecord.state == TaskStatus.READY, TaskRecord.role == actor.role)
    query = query.where(subtree_clause(TaskRecord.agency, actor.agency))
    if assigned_to_me:
        query = query.where(TaskRecord.assignee == actor.username)
    return query.order_by(TaskRecord.due_at.asc().nulls_last(), TaskRecord.created_at)


def encode_cursor(row: TaskRecord) -> str:
    """An opaque position after `row` in the order tasks opened."""
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    """The position a cursor names (None for "" = the beginning); InvalidData naming `since` otherwise."""
    if not cursor:
        return None
    try:
        at, task_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        moment = datetime.fromisoformat(at)
    except ValueError as exc:  # also binascii.Error and UnicodeDecodeError, both ValueErrors
        raise InvalidData("invalid cursor", {"since": ["a cursor from X-Next-Cursor, or empty"]}) from exc
    if moment.tzinfo is None:
        raise InvalidData("invalid cursor", {"since": ["a cursor from X-Next-Cursor, or empty"]})
    return moment, task_id


def opened_since(actor: Actor, cursor: str, settled_before: datetime) -> sa.Select[Any]:
    """READY tasks the actor may do that opened after `cursor`, in the order they opened.

    A sync client walks this with the cursor of the last row it saw. Tasks newer than `settled_before`
    are held back for the next call: a command that began earlier may still commit a task stamped
    before them, and a cursor handed out past it would skip that task for good.
    """
    query = sa.select(TaskRecord).where(TaskRecord.state == TaskStatus.READY, TaskRecord.role == actor.role)
    query = query.where(subtree_clause(TaskRecord.agency, actor.agency), TaskRecord.created_at < settled_before)
    position = decode_cursor(cursor)
    if position is not None:
        at, task_id = position
        after = sa.or_(TaskRecord.created_at > at, sa.and_(TaskRecord.created_at == at, TaskRecord.id > task_id))
        query = query.where(after)
    return query.order_by(TaskRecord.created_at, TaskRecord.id)


def open_tasks(session: Session, case_id: int) -> list[TaskRecord]:
    query = sa.select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.state == TaskStatus.READY)
    return list(session.scalars(query.order_by(TaskRecord.created_at)))
