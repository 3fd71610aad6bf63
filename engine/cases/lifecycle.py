"""The commands of a case's lifecycle: start, claim, complete a task, reporter reply, fire timers.

Each command is one transaction on one case row: restore the workflow, apply the command, run engine
steps, save the state, refresh the read models, append the audit event. The case's optimistic `version`
makes a concurrent second writer fail with `Conflict` and leaves nothing of it behind. A sweep's batch of
due cases (`fire_due`) is the one command over several cases: one transaction, each case written as alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
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

from engine import conversation, places
from engine.audit import chain as audit
from engine.calendar.working_days import WorkingCalendar
from engine.cases import forms, tasks, timers, writes
from engine.cases.access import SYSTEM, Actor
from engine.cases.case import Case, FollowUp, Status, contact_keys, new_reporter_token, new_tracking_id
from engine.cases.tasks import TaskRecord
from engine.db import insert_rows, table, utcnow, write_with_children
from engine.directory import snapshot as snapshots
from engine.directory.agencies import in_subtree
from engine.errors import Conflict, InvalidData
from engine.notify import outbox
from engine.processes import incidents, migration, serialization
from engine.processes.registry import DEFAULT_KEY, ParsedProcess, ProcessVersion, get_version, parsed_for
from engine.processes.scripting import CaseEffects, script_engine
from engine.settings import DEFAULT_SETTINGS, Settings
from engine.stats import kpi

KINDS = ("complaint", "aspiration", "information_request", "complaint_investigation")
REPLY_MESSAGE = "reporter_replied"
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # PostgreSQL deadlock detected, serialization failure
FINAL_STATUSES = frozenset({Status.CLOSED, Status.ARCHIVED})
# read with the case by a command's first SELECT: a case nobody follows needs no SELECT of its followers
FOLLOWED = sa.exists().where(places.Follower.case_id == Case.id).label("followed")


@dataclass(frozen=True)
class Submission:
    """What a reporter (or staff typing in a letter, SMS or suggestion-box slip) submits."""

    title: str
    body: str
    kind: str = "complaint"
    category: str | None = None
    agency: str | None = None
    location: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    area: str | None = None
    occurred_on: date | None = None
    channel: str = "web"
    anonymous: bool = False
    confidential: bool = False
    reporter: dict[str, Any] | None = None
    reporter_username: str | None = None
    entered_by: str | None = None  # the staff member who typed it in (kotak_saran, loket, telepon, surat)
    attributes: dict[str, Any] | None = None  # answers to the category's form
    media_url: str | None = None


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
    config: snapshots.Snapshot
    ready_before: set[str] = field(default_factory=set)  # READY user tasks at restore: the open task rows
    new: bool = False  # the case row is not written yet: one INSERT with its state
    version: int = 0  # the version number of the process it runs on (named by incidents)
    followed: bool | None = None  # whether the case has followers, when the command's first SELECT said (else read)


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


@contextmanager
def _evaluating(run: Run, new_case: bool = False) -> Iterator[None]:
    """Engine work of a command: a diagram that cannot go on is `EvaluationFailed` naming the element."""
    try:
        yield
    except WorkflowException as exc:
        case = run.case
        where = incidents.Where(
            None if new_case else case.id, None if new_case else case.tracking_id, run.parsed.key, run.version
        )
        raise incidents.EvaluationFailed.of(exc, where) from None


def _task_ids(wf: BpmnWorkflow) -> tuple[set[UUID], set[str]]:
    """(completed task ids, ready user task ids) of the restored workflow, its subprocesses included.

    A restored workflow holds exactly its tree (the saved state was pruned of orphan subprocesses), so a
    flat pass over the task dicts sees the tasks `get_tasks` would walk to, for less (sets: order is moot)."""
    completed, ready = set(), set()
    for flock in (wf.tasks, *(sp.tasks for sp in wf.subprocesses.values())):
        for task in flock.values():
            state = task._state
            if state == TaskState.COMPLETED:
                completed.add(task.id)
            elif state == TaskState.READY and task.task_spec.manual:
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


def _restore(session: Session, case: Case, settings: Settings, snapshot: snapshots.Snapshot | None = None) -> Run:
    snapshot = snapshot or snapshots.current(session)
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
    version = snapshot.numbers.get(case.process_version_id)
    number = version[1] if version else session.get_one(ProcessVersion, case.process_version_id).version
    return Run(case, parsed, wf, effects, engine, completed, calendar, snapshot, ready, version=number)


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
    drafts: Sequence[conversation.Draft] = (),
) -> Outcome:
    """Persist the workflow and every read model derived from it, and append the command's event; `drafts`
    become messages of that event (`conversation.store`), and the case's open incidents are resolved."""
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
    with _evaluating(run, new_case=run.new):  # task properties are expressions too
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
    event.case_id = case.id  # None for a new case: its children take the id its INSERT gets
    for row in opened:
        row.case_id = case.id
    ended = run.ready_before - {str(t.id) for t in scan.ready}
    follow_ups = [
        {"case_id": case.id, "at": now, "agency": f["agency"], "message": f["message"], "author": actor.username}
        for f in run.effects.follow_ups
    ]
    thread = conversation.columns(case, actor, drafts, now)
    messages = outbox.messages(session, case, event, run.effects.notifications, run.config, run.followed)
    # One write (one statement on PostgreSQL): the case row first (an INSERT with its state, or one UPDATE
    # with the version check: state, read models, chain head), so the case is locked before its children; then
    # the children (incidents resolved, tasks, follow-ups, messages, event, outbox rows; a new case's `case_id`
    # is the id its INSERT got), the outbox last so that its new ids come back for the dispatcher.
    resolved = incidents.resolving_intake(run.parsed.key, now) if run.new else incidents.resolving_case(case.id, now)
    children = [
        resolved,
        tasks.upsert(session, case.id, opened, ended, completed, actor, now),
        insert_rows(table(conversation.Message), thread, "message") if thread else None,
        insert_rows(table(FollowUp), follow_ups, "follow_up") if follow_ups else None,
        insert_rows(table(audit.Event), [_values(event)], "event"),
        insert_rows(table(outbox.OutboxMessage), [_values(m) for m in messages], "outbox") if messages else None,
    ]
    head = writes.inserting(case) if run.new else writes.updating(session, case)
    case_id, ids = write_with_children(session, head, [c for c in children if c is not None], linked=run.new)
    if run.new:
        assert case_id is not None  # an INSERT always writes its row
        writes.inserted(session, case, case_id)
        event.case_id = case_id
        for row in opened:
            row.case_id = case_id
        for message in messages:
            message.case_id = case_id
        for entry in follow_ups:
            entry["case_id"] = case_id
    else:
        writes.updated(case, case_id)
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


def _check_submission(session: Session, snapshot: snapshots.Snapshot, sub: Submission) -> None:
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
    if sub.area is not None and session.get(places.Area, sub.area) is None:
        errors["area"] = [f"no area {sub.area!r}"]
    if errors:
        raise InvalidData("invalid complaint", errors)


def _placed(session: Session, sub: Submission) -> Submission:
    """The submission with its point rounded to ~1 m and its area derived from the point when not chosen."""
    point = places.check_point(sub.latitude, sub.longitude)
    if point is None:
        return sub
    area = sub.area or places.area_for(session, point)
    return replace(sub, latitude=point[0], longitude=point[1], area=area)


def start_case(
    session: Session, sub: Submission, actor: Actor | None = None, settings: Settings = DEFAULT_SETTINGS
) -> Outcome:
    """Submit a complaint: a new case on the active default process, run to its first wait."""
    actor = actor or Actor(username=sub.reporter_username or "guest", role="reporter")
    with incidents.recorded(session), transaction(session):
        snapshot = snapshots.current(session)
        _check_submission(session, snapshot, sub)
        sub = _placed(session, sub)
        agency = sub.agency or (snapshot.categories.get(sub.category) if sub.category else None)
        desk = snapshot.desk_for(agency, settings.default_jurisdiction)
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
            **contact_keys(sub.reporter),
        )
        run = _new_run(session, snapshot, case, settings, sub, desk)
        with _evaluating(run, new_case=True):
            run.wf.do_engine_steps()
        data = {k: getattr(sub, k) for k in ("kind", "category", "agency", "channel", "anonymous", "confidential")}
        outcome = _save(session, run, actor, "submitted", data)
        outcome.reporter_token = token
    return outcome


# `agency` is not among them: the agency a reporter names is a proposal (the diagram's `proposed_agency`),
# and the case's agency, which opens it to that agency's staff, is set only when a verifier disposes it
_SUBMISSION_COLUMNS = (
    "title", "body", "kind", "category", "location", "latitude", "longitude", "area", "occurred_on", "channel",
    "anonymous", "confidential", "reporter", "reporter_username", "entered_by", "attributes", "media_url",
)  # fmt: skip


def _new_run(
    session: Session, snapshot: snapshots.Snapshot, case: Case, settings: Settings, sub: Submission, desk: str
) -> Run:
    parsed = snapshot.parsed(session, case.process_version_id)
    effects = CaseEffects(agency=None)
    calendar = snapshot.calendar(settings)
    engine = script_engine(calendar, effects)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
    start = {
        "kind": sub.kind,
        "category": sub.category,
        "agency": sub.agency,
        "desk": desk,
        "channel": sub.channel,
        "area": sub.area,  # the routing decision may use it
        "anonymous": sub.anonymous,
        "confidential": sub.confidential,
    }
    wf.get_next_task(spec_name="Start").data.update(start)
    version = snapshot.numbers[case.process_version_id][1]
    return Run(case, parsed, wf, effects, engine, set(), calendar, snapshot, new=True, version=version)


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
    session: Session,
    actor: Actor,
    task_id: str,
    data: Any,
    settings: Settings = DEFAULT_SETTINGS,
    attachments: Any = None,
) -> Outcome:
    """Complete a READY user task with form data validated against the task's JSON Schema.

    The form's message fields become messages of the case's thread (with `attachments`, ids of files
    already uploaded to the case), in the completion's audit event and transaction.
    """
    with incidents.recorded(session), transaction(session):
        row, case, (token, followed) = tasks.get_task_with_case(session, actor, task_id, snapshots.TOKEN, FOLLOWED)
        snapshot = snapshots.current(session, token)
        outcome = _complete(session, actor, row, case, data, settings, attachments, snapshot, followed)
    return outcome


def _complete(
    session: Session,
    actor: Actor,
    row: TaskRecord,
    case: Case,
    data: Any,
    settings: Settings,
    attachments: Any = None,
    snapshot: snapshots.Snapshot | None = None,
    followed: bool | None = None,
) -> Outcome:
    """The body of `complete_task`, inside the caller's transaction."""
    tasks.ensure_ready_for(row, actor)
    run = _restore(session, case, settings, snapshot)
    run.followed = followed
    task = run.wf.get_task_from_id(UUID(row.id))
    if task.state != TaskState.READY:
        raise Conflict(f"task {row.id} is no longer ready")
    clean = forms.validate(run.parsed.forms[row.form], data, _form_formats(run.config.agencies, case))
    files = conversation.check_attachments(session, case, attachments)
    drafts = conversation.from_form(run.parsed.forms[row.form], clean, files)
    task.data.update(clean)
    with _evaluating(run):
        task.run()
        run.wf.do_engine_steps()
    event_data = {"task_id": row.id, "input": clean, **conversation.event_data(drafts)}
    outcome = _save(session, run, actor, "task_completed", event_data, row.name, row.id, drafts)
    _reassign(session, row, clean, case)
    return outcome


VERIFY_TASK = "verify"
DUPLICATE = "duplicate"


def mark_duplicate(
    session: Session, actor: Actor, case: Case, primary: Case, settings: Settings = DEFAULT_SETTINGS
) -> Outcome:
    """Close `case` as a duplicate of `primary`, in one transaction.

    The diagram decides: the case's open `verify` task is completed with `reject`, reason `duplicate` and
    `duplicate_of`, and the diagram's reject path closes a duplicate (`close_reason: duplicate`). The case's
    reporter then follows `primary`, and `primary`'s history records `duplicate_merged`. Conflict when the
    case waits for no verification, InvalidData when `primary` cannot be one.
    """
    with incidents.recorded(session), transaction(session):
        if primary.id == case.id or primary.close_reason == DUPLICATE or primary.status == Status.ARCHIVED:
            problem = "a different complaint, neither archived nor itself a duplicate"
            raise InvalidData("invalid duplicate", {"of": [problem]})
        row = next((t for t in tasks.open_tasks(session, case.id) if t.name == VERIFY_TASK), None)
        if row is None:
            raise Conflict(f"complaint {case.tracking_id} is not waiting for verification (status {case.status})")
        data = {"decision": "reject", "reason": DUPLICATE, "duplicate_of": primary.tracking_id}
        outcome = _complete(session, actor, row, case, data, settings)
        follower = places.follow_as_duplicate(session, case, primary)
        primary.updated_at = utcnow()
        session.flush()  # lock the primary's row before its event, as every command does
        merged = {"duplicate": case.tracking_id, "follower_id": follower.id}
        audit.append(session, primary, "duplicate_merged", actor, merged)
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
    closing = satisfied is True and message is None  # a satisfied reporter may just rate, or say nothing
    if not closing and (not isinstance(message, str) or not message.strip() or len(message) > 5000):
        errors["message"] = ["a non-blank text of at most 5000 characters (optional only when satisfied)"]
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
    with incidents.recorded(session), transaction(session):
        payload = check_reply(reply)
        run = _restore(session, case, settings)
        event = BpmnEvent(MessageEventDefinition(REPLY_MESSAGE), payload=payload)
        if not run.wf.get_tasks(state=TaskState.WAITING, catches_event=event):
            raise Conflict(f"complaint {case.tracking_id} is not waiting for a reply (status {case.status})")
        try:
            run.wf.send_event(event)
        except WorkflowException as exc:
            raise Conflict(str(exc)) from exc
        with _evaluating(run):
            run.wf.do_engine_steps()
        drafts = conversation.from_reply(payload)
        event_data = {"reply": payload, **conversation.event_data(drafts)}
        outcome = _save(session, run, actor, "reporter_replied", event_data, drafts=drafts)
    return outcome


def fire_timers(
    session: Session, case_id: int, now: datetime | None = None, settings: Settings = DEFAULT_SETTINGS
) -> bool:
    """Fire whatever timers of the case are due; False when none is (safe to call any number of times)."""
    now = now or utcnow()
    with incidents.recorded(session), transaction(session):
        found = session.execute(_DUE_CASE, {"case_id": case_id}).one_or_none()  # PostgreSQL: waits for the row lock
        return found is not None and _fire(session, found[0], found[1], found[2], now, settings)


def fire_due(
    session: Session, case_ids: Sequence[int], now: datetime | None = None, settings: Settings = DEFAULT_SETTINGS
) -> list[int]:
    """Fire the due timers of the cases `case_ids` in one transaction; returns the ids of those that fired.

    Deadlines fall at the end of a working day, so the cases that came in on the same day fall due together:
    one SELECT locks the batch (PostgreSQL skips a case another transaction holds: it stays due for the next
    sweep) and one COMMIT ends it, instead of a transaction per case. Should one case of the batch stop on
    its diagram (an incident) or lose a race, the batch is rolled back and its cases fired one by one
    (`fire_timers`), so that the others still fire and the failing one leaves its incident.
    """
    now = now or utcnow()
    if len(case_ids) <= 1:
        return [c for c in case_ids if _fire_alone(session, c, now, settings)]
    try:
        with transaction(session):
            found = session.execute(_DUE_CASES, {"case_ids": sorted(set(case_ids))}).all()
            return [case.id for case, token, followed in found if _fire(session, case, token, followed, now, settings)]
    except Conflict:  # EvaluationFailed included; the batch's transaction is rolled back
        return [c for c in case_ids if _fire_alone(session, c, now, settings)]


def _fire_alone(session: Session, case_id: int, now: datetime, settings: Settings) -> bool:
    """`fire_timers` in a sweep: a case another command changed meanwhile or stuck on its diagram is left
    for the next sweep (the incident is recorded)."""
    try:
        return fire_timers(session, case_id, now, settings)
    except Conflict:
        return False


def _fire(session: Session, case: Case, token: Any, followed: bool | None, now: datetime, settings: Settings) -> bool:
    """Fire the due timers of `case` (read and locked by the caller's statement); False when none is due."""
    if case.next_timer_at is None or case.next_timer_at >= now:  # Spiff fires after, not at
        return False
    due = case.next_timer_at
    run = _restore(session, case, settings, snapshots.current(session, token))
    run.followed = followed
    with _evaluating(run):
        run.wf.refresh_timers()
        run.wf.do_engine_steps()
    _save(session, run, SYSTEM, "timer_fired", {"due_at": due})
    return True


# built once: the statement and its cache key cost more to build than the compiled form's lookup
_DUE_CASE = (
    sa.select(Case, snapshots.TOKEN, FOLLOWED)
    .where(Case.id == sa.bindparam("case_id"))
    .with_for_update(of=Case)
    .execution_options(populate_existing=True)
)
_DUE_CASES = (
    sa.select(Case, snapshots.TOKEN, FOLLOWED)
    .where(Case.id.in_(sa.bindparam("case_ids", expanding=True)))
    .order_by(Case.id)  # locks taken in one order by every batch: no deadlock between two of them
    .with_for_update(of=Case, skip_locked=True)
    .execution_options(populate_existing=True)
)
TIMER_BATCH = 25  # cases fired in one transaction by a sweep (the `TIMER_BATCH` setting)


def run_due(
    session: Session, now: datetime | None = None, settings: Settings = DEFAULT_SETTINGS, batch: int = TIMER_BATCH
) -> int:
    """Fire every case due at `now`, `batch` cases a transaction (`fire_due`); returns how many fired."""
    now = now or utcnow()
    due = timers.due_case_ids(session, now, limit=10_000)
    session.rollback()
    return sum(len(fire_due(session, due[i : i + batch], now, settings)) for i in range(0, len(due), batch))


def migrate_case(
    session: Session,
    actor: Actor,
    case: Case,
    to_version: int,
    dry_run: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
    mapping: Mapping[str, str] | None = None,
) -> migration.Report:
    """Move a running case onto version `to_version` of its process, only when safe (see engine.processes.migration).

    `mapping` maps elements renamed or replaced in the target (old id → new id). A decision whose table
    changed is evaluated again, and the open tasks' deadlines and the case's timers follow it; the report
    lists each moved deadline. `migration.Refused` (a Conflict) lists the reasons otherwise. A dry run
    changes nothing and reports `migratable` (with the same figures) or `refused`; a migration is audited
    as `migrated` with both versions, the diff, the re-evaluated decisions and the moved deadlines.
    """
    with incidents.recorded(session), transaction(session):
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
        plan = migration.plan(run.wf, parsed, f"version {target.version}", mapping)
        if plan.safe:
            report.decisions = _carry_policy(plan, run, parsed, report).decisions
        report.reasons = report.reasons or plan.reasons or migration.apply(plan, run.wf, parsed)
        if report.reasons:
            raise migration.Refused(report)
        report.result = "migratable" if dry_run else "migrated"
        run.parsed, run.version = parsed, target.version
        with _evaluating(run):  # in memory until saved (a dry run shows the same deadlines and drops them);
            run.wf.do_engine_steps()  # also the retry of whatever the case got stuck at, on the new version
            rows = tasks.open_tasks(session, case.id)
            described = _described(run, rows)
        report.deadlines = _moved_deadlines(rows, described)
        timer = timers.next_timer_at(Scan.of(run.wf, run.completed_before).waiting)
        if timer != case.next_timer_at:
            report.next_timer = [_iso(case.next_timer_at), _iso(timer)]
        if dry_run:
            return report  # the workflow was changed in memory only
        case.process_version_id = target.id
        data = {
            "from_version": current.version, "to_version": target.version, "diff": report.diff,
            "mapping": dict(mapping or {}), "decisions": report.decisions, "deadlines": report.deadlines,
        }  # fmt: skip
        _save(session, run, actor, "migrated", data)
        for row in rows:  # kept tasks take the new diagram's lane, form, deadline
            for name, value in described.get(row.id, {}).items():
                setattr(row, name, value)
    return report


def _carry_policy(plan: migration.Plan, run: Run, parsed: ParsedProcess, report: migration.Report) -> migration.Policy:
    """Re-evaluate changed decisions (scripts re-run as of when they ran); a failure refuses the move."""

    def environment(moment: datetime) -> Any:
        return script_engine(run.calendar, CaseEffects(), clock=lambda: moment).environment

    try:
        return migration.carry_policy(plan, run.wf, parsed, environment)
    except migration.Unrecorded as exc:  # the runs it would need were pruned from the state
        report.reasons.append(str(exc))
        return migration.Policy()
    except Exception as exc:  # whatever the new table or a re-run script raises: the case cannot take it
        report.reasons.append(f"the new decision table cannot be applied to this case ({type(exc).__name__})")
        return migration.Policy()


def _described(run: Run, rows: list[tasks.TaskRecord]) -> dict[str, dict[str, Any]]:
    """Read-model columns of each open task row as the migrated workflow describes it."""
    ready = {str(t.id): t for t in run.wf.get_tasks(state=TaskState.READY, manual=True)}
    return {row.id: tasks.describe(ready[row.id], run.engine) for row in rows if row.id in ready}


def _moved_deadlines(rows: list[tasks.TaskRecord], described: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    moved = []
    for row in rows:
        due = described.get(row.id, {}).get("due_at", row.due_at)
        if due != row.due_at:
            moved.append({"task": row.id, "name": row.name, "from": _iso(row.due_at), "to": _iso(due)})
    return moved


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


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
    mapping: Mapping[str, str] | None = None,
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
            reports.append(migrate_case(session, actor, case, to_version, dry_run, settings, mapping))
        except migration.Refused as refused:
            reports.append(refused.report)
        except Conflict as exc:  # another command changed the case meanwhile
            reports.append(migration.Report(tracking_id, status, version, to_version, reasons=[exc.message]))
    return reports
