"""Incidents: a case (or an intake) the engine could not carry on, kept open until the case moves on.

Contract:
- a command whose diagram cannot go on (a script raises, no gateway condition holds, a decision or
  expression fails, a budget is exceeded) raises `EvaluationFailed` (a Conflict: HTTP 409) naming the
  element and a plain reason; the command's own transaction rolls back, so nothing of it is written;
- `recorded(session)` around the command then writes the incident in a transaction of its own: one
  open row per (case, element, message), its `attempts` counted on each retry;
- any later successful command on the case resolves its open incidents (`resolve_case`): the case
  moved on, whether because the fix was migrating it, a fixed shared decision, or a retry that worked;
  an intake incident (no case) resolves at the next successful intake of the same process;
- retries: a timer that failed keeps its case due, so the scheduler (`aduan timers run-due`) runs it
  again; a failed task completion leaves the task open; migrating the case runs its engine steps again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases.case import Case
from engine.db import Base, Batch, UTCDateTime, table, update_where, utcnow
from engine.errors import Conflict
from engine.processes import sandbox

MAX_MESSAGE = 500


class Incident(Base):
    """One way a case (or, with no case, an intake) got stuck at an element."""

    __tablename__ = "incident"
    __table_args__ = (
        sa.Index("ix_incident_open", "case_id", sqlite_where=sa.text("resolved_at IS NULL"),
                 postgresql_where=sa.text("resolved_at IS NULL")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"))
    tracking_id: Mapped[str | None] = mapped_column(sa.String(20))
    process_key: Mapped[str] = mapped_column(sa.String(100))
    process_version: Mapped[int]
    element: Mapped[str | None] = mapped_column(sa.String(255))
    message: Mapped[str] = mapped_column(sa.String(MAX_MESSAGE))
    attempts: Mapped[int] = mapped_column(default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


_TABLE = table(Incident)


@dataclass(frozen=True)
class Where:
    """Which case on which version a command was running (case_id None: a new case, rolled back)."""

    case_id: int | None
    tracking_id: str | None
    process_key: str
    process_version: int


class EvaluationFailed(Conflict):
    """The diagram cannot go on at `element`; `reason` is plain (no object reprs, no server state)."""

    def __init__(self, where: Where, element: str | None, reason: str) -> None:
        at = f"element {element!r}" if element else "the process"
        super().__init__(f"{at} cannot go on: {reason}", {"element": element, "reason": reason})
        self.where, self.element, self.reason = where, element, reason

    @classmethod
    def of(cls, exc: WorkflowException, where: Where) -> EvaluationFailed:
        return cls(where, element_of(exc), reason_of(exc))


def element_of(exc: WorkflowException) -> str | None:
    """The BPMN id of the element an engine error happened at (an internal spec stands for its element)."""
    task = getattr(exc, "task", None)
    spec = task.task_spec if isinstance(task, Task) else getattr(exc, "task_spec", None)
    if spec is None:
        return None
    name = str(getattr(spec, "name", ""))
    return getattr(spec, "bpmn_id", None) or (name.rsplit(".", 1)[0] if "." in name else name) or None


def reason_of(exc: WorkflowException) -> str:
    """Why: the diagram code's own error if there was one, else the engine's first line, made plain."""
    cause = getattr(exc, "exception", None)
    if isinstance(cause, BaseException):
        return sandbox.reason(cause)
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return sandbox.plain(first.rstrip("."))


@contextmanager
def recorded(session: Session) -> Iterator[None]:
    """Around a command (outside its transaction): an `EvaluationFailed` leaves an incident, then propagates."""
    try:
        yield
    except EvaluationFailed as failed:
        session.rollback()
        try:
            record(session, failed)
            session.commit()
        except Exception:
            session.rollback()  # the answer is still the 409 naming the element
        raise


def record(session: Session, failed: EvaluationFailed) -> Incident:
    """Open an incident, or count one more attempt on the same open one."""
    where, now = failed.where, utcnow()
    message = failed.message[:MAX_MESSAGE]
    same = sa.select(Incident).where(
        Incident.resolved_at.is_(None),
        Incident.case_id.is_(None) if where.case_id is None else Incident.case_id == where.case_id,
        Incident.process_key == where.process_key,
        Incident.element.is_(None) if failed.element is None else Incident.element == failed.element,
        Incident.message == message,
    )
    incident = session.scalars(same.limit(1)).first()
    if incident is not None:
        incident.attempts += 1
        incident.last_attempt_at = now
        return incident
    incident = Incident(
        case_id=where.case_id, tracking_id=where.tracking_id, process_key=where.process_key,
        process_version=where.process_version, element=failed.element, message=message,
        opened_at=now, last_attempt_at=now,
    )  # fmt: skip
    session.add(incident)
    session.flush()
    return incident


def resolve_case(session: Session, case_id: int, now: datetime) -> None:
    """The case moved on: its open incidents are resolved (part of the command's transaction)."""
    session.execute(
        sa.update(Incident)
        .where(Incident.case_id == case_id, Incident.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )


def resolving_case(case_id: int, now: datetime) -> Batch:
    """`resolve_case` as a statement to run with the command's other writes (`engine.db.write_with_children`)."""
    sql = "UPDATE incident SET resolved_at = :incident_resolved_at WHERE case_id = :incident_case_id"
    params = {"incident_resolved_at": now, "incident_case_id": case_id}
    return update_where(_TABLE, sql + " AND resolved_at IS NULL", params, "incident")


def resolving_intake(process_key: str, now: datetime) -> Batch:
    """`resolve_intake` as a statement to run with the command's other writes."""
    sql = "UPDATE incident SET resolved_at = :incident_resolved_at WHERE case_id IS NULL"
    params = {"incident_resolved_at": now, "incident_process_key": process_key}
    return update_where(
        _TABLE, sql + " AND process_key = :incident_process_key AND resolved_at IS NULL", params, "incident"
    )


def resolve_intake(session: Session, process_key: str, now: datetime) -> None:
    """A new case of `process_key` started: open intake incidents of that process are resolved."""
    session.execute(
        sa.update(Incident)
        .where(Incident.case_id.is_(None), Incident.process_key == process_key, Incident.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )


def listing(
    session: Session, scope: sa.ColumnElement[bool] | None, open_only: bool = False, limit: int = 500
) -> list[Incident]:
    """Incidents of the cases in `scope` (None: all) and of intakes, newest first; `open_only`: unresolved."""
    query = sa.select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    if scope is not None:
        in_scope = sa.select(Case.id).where(scope)
        query = query.where(sa.or_(Incident.case_id.is_(None), Incident.case_id.in_(in_scope)))
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    return list(session.scalars(query))


def open_count(session: Session) -> int:
    """How many incidents are open (the `/metrics` gauge)."""
    return int(session.scalar(sa.select(sa.func.count()).where(Incident.resolved_at.is_(None))) or 0)
