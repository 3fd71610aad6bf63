"""Process definitions: deploy, version and activate lifecycles (BPMN + DMN + forms) and shared decisions.

A version stores its source files and its serialized spec once, addressed by a content hash; cases
refer to the version and store only their own state. Parsed specs are cached per hash in memory.

Two kinds of version share the table, each numbered per key: a *process* (key = the main BPMN process
id) and a *decision* deployed on its own (key = the DMN decision id). A lifecycle version binds each
decision it calls either to the .dmn uploaded with it (bundled: fixed for the version, like its diagram)
or to the decision deployed on its own (shared: its active version, at every evaluation), so re-routing
a category is one .dmn upload that reaches the next case without a new lifecycle version or a migration.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin
from SpiffWorkflow.dmn.specs.model import DecisionTable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from engine.cases import forms
from engine.cases.case import Case
from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.directory.agencies import Agency
from engine.errors import Conflict, InvalidProcess, NotFound
from engine.processes import migration, sandbox, validation
from engine.processes.serialization import REGISTRY
from engine.processes.validation import Binding, ParsedDecision
from engine.processes.validation import ParsedProcess as ParsedProcess
from engine.processes.validation import user_tasks as user_tasks

DEFAULT_BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
SHARED_DIR = "decisions"  # under a process folder: .dmn files deployed on their own
DEFAULT_KEY = "complaint"
FINAL_STATUSES = ("closed", "archived")
MAX_VERSION = 2**31 - 1  # an INTEGER column
MAX_KEY = 100


class Kind(StrEnum):
    PROCESS = "process"
    DECISION = "decision"


class ProcessVersion(Base):
    """One deployed version of a key: its source files and serialized spec, stored once."""

    __tablename__ = "process_version"
    __table_args__ = (
        sa.UniqueConstraint("key", "version"),
        # one active version per key, even when two owners activate at once
        sa.Index("uq_process_version_active", "key", unique=True, sqlite_where=sa.text("active"),
                 postgresql_where=sa.text("active")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY), index=True)
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16), default=Kind.PROCESS)
    hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    # large: loaded only when a version is restored or shown, not when a command looks up its version
    source: Mapped[dict[str, str]] = mapped_column(JSONType, deferred=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType, deferred=True)
    decisions: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)  # decision id → Binding
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # against the previous version
    active: Mapped[bool] = mapped_column(default=False)
    deployed_by: Mapped[str] = mapped_column(sa.String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_by: Mapped[str | None] = mapped_column(sa.String(64))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def shared_decisions(self) -> list[str]:
        return sorted(d for d, binding in (self.decisions or {}).items() if binding == Binding.SHARED)


@dataclass(frozen=True)
class Deployment:
    """The version an upload is now: new (`created`), or the existing one with the very same files."""

    version: ProcessVersion
    created: bool


def content_hash(files: Mapping[str, str]) -> str:
    """sha256 over the file names and contents, independent of upload order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def parse(
    files: Mapping[str, str],
    key: str | None = None,
    shared: Mapping[str, str] | None = None,
    agencies: frozenset[str] | None = None,
) -> ParsedProcess:
    """Parse and check a lifecycle upload (see engine.processes.validation); InvalidProcess lists every finding."""
    return validation.parse_process(files, shared, key, agencies)


def agency_codes(session: Session) -> frozenset[str] | None:
    """Every agency of the directory: the codes a routing table may name (None: no directory yet, e.g. the
    shipped lifecycle deployed on a fresh database; there is nothing to check against)."""
    return frozenset(session.scalars(sa.select(Agency.code))) or None


def serialize_spec(parsed: ParsedProcess) -> dict[str, Any]:
    return {
        "spec": REGISTRY.convert(parsed.spec),
        "subprocess_specs": {name: REGISTRY.convert(s) for name, s in parsed.subprocess_specs.items()},
    }


# Deploying ----------------------------------------------------------------------------------------------


def deploy(session: Session, files: Mapping[str, str], deployed_by: str, key: str | None = None) -> ProcessVersion:
    """Validate and store `files` as the next active version of their key (flushes; caller commits)."""
    return deploy_files(session, files, deployed_by, key).version


def _lone_decision(files: Mapping[str, str]) -> tuple[str, str] | None:
    """(name, text) when the upload is one decision deployed on its own; InvalidProcess for several .dmn alone."""
    if not files or not all(name.endswith(".dmn") for name in files):
        return None
    if len(files) > 1:
        message = "a .dmn uploaded without a diagram is one file"
        raise InvalidProcess("deploy one decision at a time", {"files": [message]})
    ((name, text),) = files.items()
    return name, text


def validate_files(session: Session, files: Mapping[str, str], key: str | None = None) -> list[validation.Finding]:
    """Every finding a deploy of `files` would refuse them for (none: they would deploy); stores nothing."""
    try:
        lone = _lone_decision(files)
        if lone is not None:
            decision = _check_decision(session, *lone, agency_codes(session))
            check_decision_users(session, decision, lone[1])
        else:
            _check_process(session, files, key, agency_codes(session))
    except InvalidProcess as exc:
        return validation.findings_of(exc)
    return []


def deploy_files(
    session: Session,
    files: Mapping[str, str],
    deployed_by: str,
    key: str | None = None,
    activate: bool = True,
    check_agencies: bool = True,
) -> Deployment:
    """A lifecycle (one or more .bpmn with its .dmn and .json files) or one shared decision (a lone .dmn).

    Nothing is stored unless every check passes. The very same files as an existing version of the key
    give that version back (`created` False) and change nothing. With `activate` False the new version is
    stored inactive: new cases keep starting on the active one until someone activates it. Routing cells must
    name agencies of the directory unless `check_agencies` is False (the shipped sample, see deploy_defaults).
    """
    agencies = agency_codes(session) if check_agencies else None
    lone = _lone_decision(files)
    if lone is not None:
        return _deploy_decision(session, *lone, deployed_by, activate, agencies)
    return _deploy_process(session, files, deployed_by, key, activate, agencies)


def _check_process(
    session: Session, files: Mapping[str, str], key: str | None, agencies: frozenset[str] | None
) -> tuple[ParsedProcess, dict[str, ProcessVersion]]:
    """The parsed upload (checked against today's shared decisions and `agencies`) and those decisions."""
    shared = active_decisions(session)
    parsed = parse(files, key, {d: _dmn_text(v) for d, v in shared.items()}, agencies)
    _check_kind(session, parsed.key, Kind.PROCESS, next(n for n in sorted(files) if n.endswith(".bpmn")))
    return parsed, shared


def _check_decision(session: Session, name: str, text: str, agencies: frozenset[str] | None) -> ParsedDecision:
    decision = validation.parse_decision(name, text, agencies)
    _check_kind(session, decision.id, Kind.DECISION, name)
    return decision


def _deploy_process(
    session: Session,
    files: Mapping[str, str],
    deployed_by: str,
    key: str | None,
    activate: bool,
    agencies: frozenset[str] | None,
) -> Deployment:
    parsed, shared = _check_process(session, files, key, agencies)
    digest = content_hash(files)
    existing = _with_hash(session, parsed.key, digest)
    if existing is not None:
        return Deployment(existing, False)
    previous = latest_version(session, parsed.key)
    changes = None
    if previous is not None:
        before = effective(previous, shared)
        changes = {
            "against": previous.version,
            "files": migration.file_changes(previous.source, files),
            **migration.spec_changes(before, parsed),
        }
    spec = serialize_spec(parsed)
    version = _store(
        session, parsed.key, Kind.PROCESS, digest, files, spec, deployed_by, changes, parsed.decisions, activate
    )
    _CACHE.put(digest, parsed)
    return Deployment(version, True)


def _deploy_decision(
    session: Session, name: str, text: str, deployed_by: str, activate: bool, agencies: frozenset[str] | None
) -> Deployment:
    decision = _check_decision(session, name, text, agencies)
    digest = content_hash({name: text})
    existing = _with_hash(session, decision.id, digest)
    if existing is not None:
        return Deployment(existing, False)
    if activate:  # an inactive decision reaches no lifecycle until activated, which checks them then
        check_decision_users(session, decision, text)
    previous = latest_version(session, decision.id)
    changes = None
    if previous is not None:
        old = decision_of(previous)
        changes = {"against": previous.version, "files": migration.file_changes(previous.source, {name: text})}
        changes.update(migration.decision_changes(old.table, decision.table))
    spec = {"decision": decision.id, "table": migration.table_dict(decision.table)}
    version = _store(
        session, decision.id, Kind.DECISION, digest, {name: text}, spec, deployed_by, changes, None, activate
    )
    _DECISIONS.put(digest, decision)
    return Deployment(version, True)


def _store(
    session: Session,
    key: str,
    kind: Kind,
    digest: str,
    files: Mapping[str, str],
    spec: dict[str, Any],
    deployed_by: str,
    changes: dict[str, Any] | None,
    decisions: Mapping[str, str] | None = None,
    activate: bool = True,
) -> ProcessVersion:
    """Insert the next version of `key` (the only active one, if `activate`); a concurrent deploy is a Conflict."""
    number = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(ProcessVersion.key == key))
    if activate:
        session.execute(sa.update(ProcessVersion).where(ProcessVersion.key == key).values(active=False))
    now = utcnow()
    version = ProcessVersion(
        key=key, version=(number or 0) + 1, kind=kind, hash=digest, source=dict(files), spec=spec,
        decisions=dict(decisions or {}), changes=changes, active=activate, deployed_by=deployed_by, deployed_at=now,
        activated_by=deployed_by if activate else None, activated_at=now if activate else None,
    )  # fmt: skip
    session.add(version)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"another deployment of {key!r} happened at the same time; deploy again") from exc
    return version


def _check_kind(session: Session, key: str, kind: Kind, file: str) -> None:
    """A key is one kind for good, and fits its column."""
    if len(key) > MAX_KEY:
        raise InvalidProcess(
            "invalid key", {file: [f"element {key[:40]!r}…: ids used as keys have {MAX_KEY} characters at most"]}
        )
    other = session.scalar(sa.select(ProcessVersion.kind).where(ProcessVersion.key == key).limit(1))
    if other is not None and other != kind:
        raise InvalidProcess(
            f"{key!r} is a {other}", {file: [f"element {key!r}: the key {key!r} is already used by a {other}"]}
        )


def _with_hash(session: Session, key: str, digest: str) -> ProcessVersion | None:
    query = sa.select(ProcessVersion).where(ProcessVersion.key == key, ProcessVersion.hash == digest)
    return session.scalars(query).first()


def check_decision_users(session: Session, decision: ParsedDecision, text: str) -> None:
    """A shared decision must keep working for every lifecycle that evaluates it: dry-run each of them.

    Those are the versions that share the decision and are active or still have running cases.
    """
    current = active_decisions(session)
    errors: dict[str, list[str]] = {}
    for user in _decision_users(session, decision.id):
        shared = {d: _dmn_text(v) for d, v in current.items()}
        shared[decision.id] = text
        try:
            parse(user.source, user.key, shared)
        except InvalidProcess as exc:
            for file, messages in exc.errors.items():
                errors.setdefault(decision.file, []).extend(
                    f"with {user.key} version {user.version} ({file}): {m}" for m in messages
                )
    if errors:
        raise InvalidProcess(f"decision {decision.id!r} would break the lifecycles that use it", errors)


def _decision_users(session: Session, decision_id: str) -> list[ProcessVersion]:
    running = sa.select(Case.process_version_id).where(Case.status.not_in(FINAL_STATUSES))
    query = (
        sa.select(ProcessVersion)
        .where(ProcessVersion.kind == Kind.PROCESS)
        .where(sa.or_(ProcessVersion.active.is_(True), ProcessVersion.id.in_(running)))
        .order_by(ProcessVersion.key, ProcessVersion.version)
    )
    return [v for v in session.scalars(query) if decision_id in v.shared_decisions]


# Reading and activating ---------------------------------------------------------------------------------


def read_files(directory: Path) -> dict[str, str]:
    """Every deployable file of a folder, named by base name: *.bpmn, *.dmn, forms/*.json and decisions/*.dmn."""
    patterns = ("*.bpmn", "*.dmn", "forms/*.json", f"{SHARED_DIR}/*.dmn")
    paths = [p for pattern in patterns for p in directory.glob(pattern)]
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(paths)}


def shared_files(directory: Path) -> dict[str, str]:
    """The decisions of a folder meant to be deployed on their own (decisions/*.dmn)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob(f"{SHARED_DIR}/*.dmn"))}


def deploy_directory(
    session: Session, directory: Path, deployed_by: str, keep_decisions: bool = False, check_agencies: bool = True
) -> list[Deployment]:
    """Deploy a process folder: each decisions/*.dmn on its own, then the lifecycle with the other files.

    With `keep_decisions`, a shared decision whose key has any version already is left as it is.
    """
    shared = shared_files(directory)
    done: list[Deployment] = []
    for name, text in shared.items():
        decision_id = validation.parse_decision(name, text).id
        if keep_decisions and latest_version(session, decision_id) is not None:
            continue
        done.append(deploy_files(session, {name: text}, deployed_by, check_agencies=check_agencies))
    bundle = {n: t for n, t in read_files(directory).items() if n not in shared}
    done.append(deploy_files(session, bundle, deployed_by, check_agencies=check_agencies))
    return done


def deploy_defaults(session: Session) -> ProcessVersion:
    """The active default version, deploying the shipped `bpmn/` files if the key has none yet.

    The shipped routing table is Kota Batam's sample: a service started on another directory must still
    start, so its agencies are not checked here (its cells are proposals a verifier corrects; a process
    owner replaces the table, and that upload is checked)."""
    current = active_version(session, DEFAULT_KEY, required=False)
    if current is not None:
        return current
    return deploy_directory(session, DEFAULT_BPMN_DIR, "system", keep_decisions=True, check_agencies=False)[-1].version


def active_version(session: Session, key: str, required: bool = True) -> ProcessVersion | None:
    query = sa.select(ProcessVersion).where(ProcessVersion.key == key, ProcessVersion.active.is_(True))
    version = session.scalars(query).first()
    if version is None and required:
        raise NotFound(f"no active version of process {key!r}")
    return version


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    query = sa.select(ProcessVersion).where(ProcessVersion.key == key).order_by(ProcessVersion.version.desc())
    return session.scalars(query.limit(1)).first()


def get_version(session: Session, key: str, number: int) -> ProcessVersion:
    query = sa.select(ProcessVersion).where(ProcessVersion.key == key, ProcessVersion.version == number)
    version = session.scalars(query).first() if 0 < number <= MAX_VERSION else None
    if version is None:
        raise NotFound(f"no version {number} of {key!r}")
    return version


def versions(session: Session, key: str) -> list[ProcessVersion]:
    query = sa.select(ProcessVersion).where(ProcessVersion.key == key).order_by(ProcessVersion.version)
    found = list(session.scalars(query))
    if not found:
        raise NotFound(f"no process or decision {key!r}")
    return found


@dataclass(frozen=True)
class KeySummary:
    key: str
    kind: str
    version: int | None
    versions: list[int]


def keys(session: Session) -> list[KeySummary]:
    """Every deployed key with its active version and all its version numbers."""
    rows = session.execute(
        sa.select(ProcessVersion.key, ProcessVersion.kind, ProcessVersion.version, ProcessVersion.active)
        .order_by(ProcessVersion.kind.desc(), ProcessVersion.key, ProcessVersion.version)
    ).all()  # fmt: skip
    summaries: dict[str, KeySummary] = {}
    for key, kind, number, active in rows:
        summary = summaries.setdefault(key, KeySummary(key, kind, None, []))
        summary.versions.append(number)
        if active:
            summaries[key] = KeySummary(key, kind, number, summary.versions)
    return list(summaries.values())


def activate(session: Session, key: str, number: int, actor: str) -> ProcessVersion:
    """Make version `number` the one new cases (or shared evaluations) use: an upgrade or a rollback.

    A lifecycle is checked again against today's shared decisions; a shared decision against the
    lifecycles that use it. Running cases stay on their versions.
    """
    target = get_version(session, key, number)
    if target.active:
        return target
    if target.kind == Kind.DECISION:
        check_decision_users(session, decision_of(target), _dmn_text(target))
    else:
        shared = {d: _dmn_text(v) for d, v in active_decisions(session).items()}
        parse(target.source, target.key, shared, agency_codes(session))
    session.execute(sa.update(ProcessVersion).where(ProcessVersion.key == key).values(active=False))
    session.flush()
    target.active, target.activated_by, target.activated_at = True, actor, utcnow()
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{key!r} was changed at the same time; try again") from exc
    return target


# Shared decisions and the effective spec ----------------------------------------------------------------


def active_decisions(session: Session, ids: list[str] | None = None) -> dict[str, ProcessVersion]:
    """The active version of every (or each named) shared decision, by decision id."""
    query = sa.select(ProcessVersion).where(ProcessVersion.kind == Kind.DECISION, ProcessVersion.active.is_(True))
    if ids is not None:
        query = query.where(ProcessVersion.key.in_(ids))
    return {v.key: v for v in session.scalars(query)}


def _dmn_text(version: ProcessVersion) -> str:
    return next(iter(version.source.values()))


def decision_of(version: ProcessVersion) -> ParsedDecision:
    """The parsed table of a shared decision version (parsed once per content hash)."""
    decision: ParsedDecision | None = _DECISIONS.peek(version.hash)
    if decision is None:
        ((name, text),) = version.source.items()
        decision = validation.parse_decision(name, text)
        _DECISIONS.put(version.hash, decision)
    return decision


def effective(version: ProcessVersion, decisions: Mapping[str, ProcessVersion]) -> ParsedProcess:
    """A lifecycle version's specs with each shared decision it calls bound to the given decision version."""
    shared = {d: decisions[d] for d in version.shared_decisions if d in decisions}
    if not shared:
        return _CACHE.get(version)
    key = version.hash + "|" + ",".join(f"{d}={v.hash}" for d, v in sorted(shared.items()))
    parsed: ParsedProcess | None = _CACHE.peek(key)
    if parsed is None:
        parsed = restore(version)  # fresh objects: cached specs are shared and never changed
        for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                decision_id = task_spec.extensions.get("calledDecisionId") if hasattr(task_spec, "extensions") else None
                if isinstance(task_spec, BusinessRuleTaskMixin) and decision_id in shared:
                    task_spec.dmnEngine = decision_of(shared[decision_id]).engine
        _CACHE.put(key, parsed)
    return parsed


class SpecCache:
    """Parsed specs by content hash (and by hash + shared decision hashes), most recently used kept."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, item: Any) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def peek(self, key: str) -> Any:
        with self._lock:
            return self._items.get(key)

    def get(self, version: ProcessVersion) -> ParsedProcess:
        parsed: ParsedProcess | None = self.peek(version.hash)
        if parsed is None:
            parsed = restore(version)
            self.put(version.hash, parsed)
        return parsed


def restore(version: ProcessVersion) -> ParsedProcess:
    """Rebuild a version's spec objects from its stored serialized spec (no XML parsing)."""
    spec = REGISTRY.restore(version.spec["spec"])
    subprocess_specs = {n: REGISTRY.restore(s) for n, s in version.spec["subprocess_specs"].items()}
    sandbox.strict_decisions([spec, *subprocess_specs.values()])
    schemas = {n: forms.parse_schema(n, t) for n, t in version.source.items() if n.endswith(".json")}
    return ParsedProcess(version.key, spec, subprocess_specs, schemas, dict(version.decisions or {}))


_CACHE = SpecCache()
_DECISIONS = SpecCache(size=64)


def parsed_for(version: ProcessVersion) -> ParsedProcess:
    """The executable form of a stored lifecycle version, its shared decisions bound to their active versions."""
    shared = version.shared_decisions
    session = object_session(version)
    if not shared or session is None:
        return _CACHE.get(version)
    return effective(version, active_decisions(session, shared))


# Comparing with the active version ---------------------------------------------------------------------


def against_active(session: Session, version: ProcessVersion) -> dict[str, Any] | None:
    """What activating `version` would change: its files, elements and decision tables (rules and cells)
    against the key's active version; None when it is the active one or the key has none."""
    active = active_version(session, version.key, required=False)
    if active is None or active.id == version.id:
        return None
    changes: dict[str, Any] = {
        "against": active.version,
        "files": migration.file_changes(active.source, version.source),
    }
    if version.kind == Kind.DECISION:
        changes["tables"] = {
            _dmn_name(version): migration.decision_changes(decision_of(active).table, decision_of(version).table)
        }
        return changes
    shared = active_decisions(session)
    changes.update(migration.spec_changes(effective(active, shared), effective(version, shared)))
    changes["tables"] = {
        name: migration.decision_changes(_table(name, active.source[name]), _table(name, version.source[name]))
        for name in changes["files"]["changed"]
        if name.endswith(".dmn")
    }
    return changes


def _dmn_name(version: ProcessVersion) -> str:
    return next(iter(version.source))


def _table(name: str, text: str) -> DecisionTable:
    return validation.parse_decision(name, text).table
