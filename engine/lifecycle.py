"""The commands of a case's lifecycle: start, claim, complete a task, reporter reply, fire timers.

Each command is one transaction on one case row: restore the workflow, apply the command, run engine
steps, save the state, refresh the read models, append the audit event. The case's optimistic `version`
makes a concurrent second writer fail with `Conflict` and leaves nothing of it behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import audit, config, forms, kpi, migration, outbox, serialization, tasks, timers
from engine.access import SYSTEM, Actor
from engine.calendar import WorkingCalendar
from engine.cases import Case, FollowUp, Status, new_reporter_token, new_tracking_id
from engine.db import insert_rows, insert_together, table, utcnow
from engine.directory import in_subtree
from engine.errors import Conflict, InvalidData
from engine.processes import DEFAULT_KEY, ParsedProcess, ProcessVersion, get_version, parsed_for
from engine.scripting import CaseEffects, script_engine
from engine.settings import DEFAULT_SETTINGS, Settings
from engine.tasks import TaskRecord

KINDS = ("complaint", "aspiration", "information_request", "complaint_investigation")
REPLY_MESSAGE = "reporter_replied"
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # PostgreSQL deadlock detected, serialization failure
FINAL_STATUSES = frozenset({Status.CLOSED, Status.ARCHIVED})


@dataclass(frozen=True)
class Submission:
    """What a reporter (or staff typing in a letter, SMS or suggestion-box slip) submits."""

    title: str
    body: str
    kind: str = "complaint"
    category: str | None = None
    agency: str | None = None
    location: str | None = None
    occurred_on: date | None = None
    channel: str = "web"
    anonymous: bool = False
    confidential: bool = False
    reporter: dict[str, Any] | None = None
    reporter_username: str | None = None


@dataclass
class Outcome:
    """What a command left: the case, the tasks it opened and, for a new case, the reporter's secret."""

    case: Case
    next_tasks: list[TaskRecord] = field(default_factory=list)
    reporter_token: str | None = None
    follow_ups: list[dict[str, Any]] = field(default_factory=list)  # the ones this command wrote
    process: tuple[str, int] = ("", 0)  # the case's process key and version number


@dataclass
class Run:
    """A case restored for one command."""

    case: Case
    parsed: ParsedProcess
    wf: BpmnWorkflow
    effects: CaseEffects
    engine: PythonScriptEngine
    completed_before: set[UUID]
    calendar: WorkingCalendar
    config: config.Snapshot
    ready_before: set[str] = field(default_factory=set)  # READY user tasks at restore: the open task rows
    new: bool = False  # the case row is not written yet: one INSERT with its state


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """Commit the command, or roll all of it back; a lost optimistic race becomes `Conflict`.

    The command's objects stay loaded after the commit (no expiry): its answer is built from them without
    reading the rows it has just written back."""
    try:
        yield
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    except StaleDataError as exc:
        session.rollback()
        raise Conflict("the case was changed by another command; reload and retry") from exc
    except OperationalError as exc:
        session.rollback()
        if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            raise Conflict("the case was changed by another command; reload and retry") from exc
        raise
    except IntegrityError as exc:
        session.rollback()
        if "seq" in str(exc.orig) or "uq_event" in str(exc.orig):
            raise Conflict("the case was changed by another command; reload and retry") from exc
        raise
    except BaseException:
        session.rollback()
        raise


def _task_ids(wf: BpmnWorkflow) -> tuple[set[UUID], set[str]]:
    """(completed task ids, ready user task ids) in one walk of the restored workflow."""
    completed, ready = set(), set()
    for task in wf.get_tasks(state=TaskState.COMPLETED | TaskState.READY):
        if task.state == TaskState.COMPLETED:
            completed.add(task.id)
        elif task.task_spec.manual:
            ready.add(str(task.id))
    return completed, ready


@dataclass(frozen=True)
class Scan:
    """One walk over the workflow's tasks (subprocesses included), sorted into what a save needs."""

    ready: list[Task]
    waiting: list[Task]
    passed: list[str]

    @classmethod
    def of(cls, wf: BpmnWorkflow, completed_before: set[UUID]) -> Scan:
        ready, waiting, done = [], [], []
        for task in wf.get_tasks():
            if task.state == TaskState.READY and task.task_spec.manual:
                ready.append(task)
            elif task.state == TaskState.WAITING:
                waiting.append(task)
            elif task.state == TaskState.COMPLETED and task.id not in completed_before:
                done.append(task)
        done.sort(key=lambda t: t.last_state_change)
        return cls(ready, waiting, [t.task_spec.bpmn_id for t in done if t.task_spec.bpmn_id])


def _restore(session: Session, case: Case, settings: Settings, snapshot: config.Snapshot | None = None) -> Run:
    snapshot = snapshot or config.current(session)
    parsed = snapshot.parsed(session, case.process_version_id)
    effects = CaseEffects(agency=case.agency)
    calendar = snapshot.calendar(settings)
    engine = script_engine(calendar, effects)
    # the stored spec dicts (a large deferred column) are read only to migrate state of an older serializer
    spec_dicts = None
    if case.serializer_version != serialization.SERIALIZER_VERSION:
        spec_dicts = session.get_one(ProcessVersion, case.process_version_id).spec
    wf = serialization.load(
        case.state, case.serializer_version, parsed.spec, parsed.subprocess_specs, engine, spec_dicts
    )
    completed, ready = _task_ids(wf)
    return Run(case, parsed, wf, effects, engine, completed, calendar, snapshot, ready)


FACT_COLUMNS = ("status", "agency", "category", "kind", "anonymous", "confidential", "escalated")


def _apply_facts(case: Case, facts: dict[str, Any]) -> dict[str, list[Any]]:
    """Mirror the diagram's `update_case` facts into the row; returns {column: [old, new]} of changes."""
    changes: dict[str, list[Any]] = {}
    for name, value in facts.items():
        if name == "escalation_level":
            value = max(int(value), case.escalation_level)
        old = getattr(case, name)
        if old != value:
            changes[name] = [old, value]
            setattr(case, name, value)
    return changes


def _save(
    session: Session,
    run: Run,
    actor: Actor,
    event_type: str,
    data: dict[str, Any],
    task: str | None = None,
    completed: str | None = None,
) -> Outcome:
    """Persist the workflow and every read model derived from it, and append the command's event."""
    case, now = run.case, utcnow()
    run.wf.get_events()  # drop thrown events nobody outside catches (terminate ends pile up otherwise)
    scan = Scan.of(run.wf, run.completed_before)
    serialization.prune(run.wf)  # after the scan: the elements this command passed are in its event
    case.state = serialization.dump(run.wf)
    case.serializer_version = serialization.SERIALIZER_VERSION
    changes = _apply_facts(case, run.effects.facts)
    if case.status in FINAL_STATUSES and case.closed_at is None:
        case.closed_at = now
    case.next_timer_at = timers.next_timer_at(scan.waiting)
    case.updated_at = now
    opened = tasks.opened(scan.ready, run.ready_before, run.engine, now)
    kpi.record(case, changes, run.effects.follow_ups, opened, now, run.calendar)
    event_data = {
        **data,
        "changes": changes,
        "elements": scan.passed,
        "opened": [{"id": t.id, "name": t.name, "due_at": t.due_at} for t in opened],
    }
    if run.effects.follow_ups:
        event_data["follow_ups"] = run.effects.follow_ups
    if run.effects.notifications:
        event_data["notifications"] = run.effects.notifications
    event = audit.link(case, event_type, actor, event_data, task=task)
    # One INSERT (a new case) or one UPDATE of the case row (state, read models, chain head: one version
    # bump), written before its children, so the case is locked first and a new case has its id
    if run.new:
        session.add(case)
    session.flush()
    event.case_id = case.id
    for row in opened:
        row.case_id = case.id
    ended = run.ready_before - {str(t.id) for t in scan.ready}
    follow_ups = [
        {"case_id": case.id, "at": now, "agency": f["agency"], "message": f["message"], "author": actor.username}
        for f in run.effects.follow_ups
    ]
    messages = outbox.messages(session, case, event, run.effects.notifications, run.config)
    # the children in one statement on PostgreSQL (tasks, follow-ups, event, outbox rows: they need only
    # the case's id), the outbox last so that its new ids come back for the dispatcher
    children = [
        tasks.upsert(session, case.id, opened, ended, completed, actor, now),
        insert_rows(table(FollowUp), follow_ups, "follow_up") if follow_ups else None,
        insert_rows(table(audit.Event), [_values(event)], "event"),
        insert_rows(table(outbox.OutboxMessage), [_values(m) for m in messages], "outbox") if messages else None,
    ]
    ids = insert_together(session, [c for c in children if c is not None])
    if messages:
        outbox.remember(session, [(i, m.kind) for i, m in zip(ids, messages, strict=True)])
    return Outcome(
        case, opened, follow_ups=follow_ups, process=run.config.numbers.get(case.process_version_id, ("", 0))
    )


def _values(row: Any) -> dict[str, Any]:
    """A transient row's column values for a Core INSERT (its id left to the database, unset scalar defaults
    filled in as the ORM would)."""
    values = {}
    for c in row.__table__.columns:
        value = getattr(row, c.key)
        if value is None and c.default is not None and c.default.is_scalar:
            value = c.default.arg
        if c.key != "id":
            values[c.key] = value
    return values


def _check_submission(snapshot: config.Snapshot, sub: Submission) -> None:
    errors: dict[str, list[str]] = {}
    if not sub.title.strip():
        errors["title"] = ["must not be blank"]
    if not sub.body.strip():
        errors["body"] = ["must not be blank"]
    if sub.kind not in KINDS:
        errors["kind"] = [f"must be one of {', '.join(KINDS)}"]
    if sub.agency is not None and sub.agency not in snapshot.agencies:
        errors["agency"] = [f"no agency {sub.agency!r}"]
    if sub.category is not None and sub.category not in snapshot.categories:
        errors["category"] = [f"no category {sub.category!r}"]
    if errors:
        raise InvalidData("invalid complaint", errors)


def start_case(
    session: Session, sub: Submission, actor: Actor | None = None, settings: Settings = DEFAULT_SETTINGS
) -> Outcome:
    """Submit a complaint: a new case on the active default process, run to its first wait."""
    actor = actor or Actor(username=sub.reporter_username or "guest", role="reporter")
    with transaction(session):
        snapshot = config.current(session)
        _check_submission(snapshot, sub)
        desk = snapshot.desk_for(sub.agency, settings.default_jurisdiction)
        if DEFAULT_KEY not in snapshot.active:
            raise InvalidData("no active process", {"kind": [f"no active version of {DEFAULT_KEY!r}"]})
        token, token_hash = new_reporter_token()
        now = utcnow()
        case = Case(
            tracking_id=new_tracking_id(),
            reporter_token_hash=token_hash,
            process_version_id=snapshot.active[DEFAULT_KEY],
            serializer_version=serialization.SERIALIZER_VERSION,
            state=b"",
            status=Status.SUBMITTED,
            desk=desk,
            created_at=now,
            updated_at=now,
            event_seq=0,
            event_hash="",
            escalated=False,
            escalation_level=0,
            disposition_count=0,
            rerouted_count=0,
            **{k: getattr(sub, k) for k in _SUBMISSION_COLUMNS},
        )
        run = _new_run(session, snapshot, case, settings, sub, desk)
        run.wf.do_engine_steps()
        data = {k: getattr(sub, k) for k in ("kind", "category", "agency", "channel", "anonymous", "confidential")}
        outcome = _save(session, run, actor, "submitted", data)
        outcome.reporter_token = token
    return outcome


_SUBMISSION_COLUMNS = (
    "title", "body", "kind", "category", "agency", "location", "occurred_on", "channel",
    "anonymous", "confidential", "reporter", "reporter_username",
)  # fmt: skip


def _new_run(
    session: Session, snapshot: config.Snapshot, case: Case, settings: Settings, sub: Submission, desk: str
) -> Run:
    parsed = snapshot.parsed(session, case.process_version_id)
    effects = CaseEffects(agency=sub.agency)
    calendar = snapshot.calendar(settings)
    engine = script_engine(calendar, effects)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
    start = {
        "kind": sub.kind,
        "category": sub.category,
        "agency": sub.agency,
        "desk": desk,
        "channel": sub.channel,
        "anonymous": sub.anonymous,
        "confidential": sub.confidential,
    }
    wf.get_next_task(spec_name="Start").data.update(start)
    return Run(case, parsed, wf, effects, engine, set(), calendar, snapshot, new=True)


def claim_task(session: Session, actor: Actor, task_id: str) -> TaskRecord:
    """Take a READY task for oneself; Conflict when someone else holds it."""
    with transaction(session):
        row = tasks.get_task(session, actor, task_id)
        tasks.ensure_ready_for(row, actor)
        if row.assignee != actor.username:
            case = session.get_one(Case, row.case_id)
            case.updated_at = utcnow()
            session.flush()  # lock the case row first, as every command does (else two commands can deadlock)
            audit.append(session, case, "task_claimed", actor, {"task_id": row.id}, task=row.name)
            row.assignee = actor.username
    return row


def _form_formats(agencies: frozenset[str], case: Case) -> dict[str, Any]:
    def agency(value: object) -> bool:
        return not isinstance(value, str) or value in agencies

    def unit(value: object) -> bool:
        if not isinstance(value, str):
            return True
        below = case.agency is not None and value != case.agency and in_subtree(value, case.agency)
        return below and value in agencies

    return {"agency": agency, "agency-unit": unit}


def complete_task(
    session: Session, actor: Actor, task_id: str, data: Any, settings: Settings = DEFAULT_SETTINGS
) -> Outcome:
    """Complete a READY user task with form data validated against the task's JSON Schema."""
    with transaction(session):
        row, case, token = tasks.get_task_with_case(session, actor, task_id, config.TOKEN)
        tasks.ensure_ready_for(row, actor)
        run = _restore(session, case, settings, config.current(session, token))
        task = run.wf.get_task_from_id(UUID(row.id))
        if task.state != TaskState.READY:
            raise Conflict(f"task {row.id} is no longer ready")
        clean = forms.validate(run.parsed.forms[row.form], data, _form_formats(run.config.agencies, case))
        task.data.update(clean)
        task.run()
        run.wf.do_engine_steps()
        outcome = _save(session, run, actor, "task_completed", {"task_id": row.id, "input": clean}, row.name, row.id)
        _reassign(session, row, clean, case)
    return outcome


def _reassign(session: Session, row: TaskRecord, data: dict[str, Any], case: Case) -> None:
    """A task with a `reassigns` property hands the named open task to `data['assignee']`, if given."""
    assignee = data.get("assignee")
    if not row.reassigns or not assignee:
        return
    session.execute(
        sa.update(TaskRecord)
        .where(TaskRecord.case_id == case.id, TaskRecord.name == row.reassigns, TaskRecord.state == "ready")
        .values(assignee=assignee)
    )


def check_reply(reply: Any) -> dict[str, Any]:
    """The reporter's reply `{message, satisfied?, rating?}`, or InvalidData naming the field."""
    if not isinstance(reply, dict):
        raise InvalidData("invalid reply", {"reply": ["must be an object"]})
    errors: dict[str, list[str]] = {}
    message, satisfied, rating = reply.get("message"), reply.get("satisfied"), reply.get("rating")
    if not isinstance(message, str) or not message.strip() or len(message) > 5000:
        errors["message"] = ["a non-blank text of at most 5000 characters"]
    if satisfied is not None and not isinstance(satisfied, bool):
        errors["satisfied"] = ["must be true or false"]
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        errors["rating"] = ["an integer from 1 to 5"]
    unknown = set(reply) - {"message", "satisfied", "rating"}
    for name in unknown:
        errors[name] = ["unknown field"]
    if errors:
        raise InvalidData("invalid reply", errors)
    return {"message": message, "satisfied": satisfied, "rating": rating}


def reporter_reply(
    session: Session, case: Case, reply: Any, actor: Actor | None = None, settings: Settings = DEFAULT_SETTINGS
) -> Outcome:
    """Deliver the reporter's reply as the `reporter_replied` message; Conflict when nothing waits for it."""
    actor = actor or Actor(username=case.reporter_username or "reporter", role="reporter")
    with transaction(session):
        payload = check_reply(reply)
        run = _restore(session, case, settings)
        event = BpmnEvent(MessageEventDefinition(REPLY_MESSAGE), payload=payload)
        if not run.wf.get_tasks(state=TaskState.WAITING, catches_event=event):
            raise Conflict(f"complaint {case.tracking_id} is not waiting for a reply (status {case.status})")
        try:
            run.wf.send_event(event)
        except WorkflowException as exc:
            raise Conflict(str(exc)) from exc
        run.wf.do_engine_steps()
        outcome = _save(session, run, actor, "reporter_replied", {"reply": payload})
    return outcome


def fire_timers(
    session: Session, case_id: int, now: datetime | None = None, settings: Settings = DEFAULT_SETTINGS
) -> bool:
    """Fire whatever timers of the case are due; False when none is (safe to call any number of times)."""
    now = now or utcnow()
    with transaction(session):
        query = sa.select(Case, config.TOKEN).where(Case.id == case_id).with_for_update(of=Case)  # PostgreSQL: waits
        found = session.execute(query.execution_options(populate_existing=True)).one_or_none()
        if found is None:
            return False
        case, token = found
        if case.next_timer_at is None or case.next_timer_at >= now:  # Spiff fires after, not at
            return False
        due = case.next_timer_at
        run = _restore(session, case, settings, config.current(session, token))
        run.wf.refresh_timers()
        run.wf.do_engine_steps()
        _save(session, run, SYSTEM, "timer_fired", {"due_at": due})
    return True


def run_due(session: Session, now: datetime | None = None, settings: Settings = DEFAULT_SETTINGS) -> int:
    """Fire every case due at `now`, each in its own transaction; returns how many fired."""
    now = now or utcnow()
    fired = 0
    for case_id in timers.due_case_ids(session, now, limit=10_000):
        try:
            fired += fire_timers(session, case_id, now, settings)
        except Conflict:
            continue  # another scheduler got there first; the case is fired at most once
    return fired


def migrate_case(
    session: Session,
    actor: Actor,
    case: Case,
    to_version: int,
    dry_run: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
) -> migration.Report:
    """Move a running case onto version `to_version` of its process, only when safe (see engine.migration).

    `migration.Refused` (a Conflict) lists the reasons otherwise. A dry run changes nothing and reports
    `migratable` or `refused`; a migration is audited as `migrated` with both versions and the diff.
    """
    with transaction(session):
        session.refresh(case, with_for_update=True)  # PostgreSQL: one writer per case
        current = session.get_one(ProcessVersion, case.process_version_id)
        target = get_version(session, current.key, to_version)
        report = migration.Report(case.tracking_id, case.status, current.version, target.version)
        if case.status in FINAL_STATUSES:
            report.reasons.append(f"the case is {case.status}; finished cases keep the version they ran on")
        elif target.id == current.id:
            report.reasons.append(f"the case is already on version {target.version}")
        if report.reasons:
            raise migration.Refused(report)
        run, parsed = _restore(session, case, settings), parsed_for(target)
        report.diff = migration.spec_changes(run.parsed, parsed)["elements"]
        plan = migration.plan(run.wf, parsed, f"version {target.version}")
        report.reasons = plan.reasons or migration.apply(plan, run.wf, parsed)
        if report.reasons:
            raise migration.Refused(report)
        report.result = "migratable" if dry_run else "migrated"
        if dry_run:
            return report
        case.process_version_id, run.parsed = target.id, parsed
        run.wf.do_engine_steps()
        data = {"from_version": current.version, "to_version": target.version, "diff": report.diff}
        _save(session, run, actor, "migrated", data)
        ready = {str(t.id): t for t in run.wf.get_tasks(state=TaskState.READY, manual=True)}
        for row in tasks.open_tasks(session, case.id):  # kept tasks take the new diagram's lane, form, deadline
            if row.id in ready:
                for name, value in tasks.describe(ready[row.id], run.engine).items():
                    setattr(row, name, value)
    return report


def migrate_cases(
    session: Session,
    actor: Actor,
    key: str,
    to_version: int,
    dry_run: bool,
    statuses: list[str] | None = None,
    scope: sa.ColumnElement[bool] | None = None,
    limit: int = 500,
    settings: Settings = DEFAULT_SETTINGS,
) -> list[migration.Report]:
    """Move every running case of `key` on another version (within `scope`) to `to_version`, one case per
    transaction, oldest first; the report says for each case whether it moved and why not."""
    target = get_version(session, key, to_version)
    query = (
        sa.select(Case.id, Case.tracking_id, Case.status, ProcessVersion.version)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .where(ProcessVersion.key == key, ProcessVersion.id != target.id, Case.status.not_in(FINAL_STATUSES))
        .order_by(Case.id)
        .limit(limit)
    )
    if statuses:
        query = query.where(Case.status.in_(statuses))
    if scope is not None:
        query = query.where(scope)
    reports = []
    for case_id, tracking_id, status, version in session.execute(query).all():
        try:
            case = session.get_one(Case, case_id)
            reports.append(migrate_case(session, actor, case, to_version, dry_run, settings))
        except migration.Refused as refused:
            reports.append(refused.report)
        except Conflict as exc:  # another command changed the case meanwhile
            reports.append(migration.Report(tracking_id, status, version, to_version, reasons=[exc.message]))
    return reports
