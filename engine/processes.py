"""Process definitions: deploy a version (BPMN + DMN + form schemas), store it once, cache its parsed spec.

A version stores its source files and its serialized spec once, addressed by a content hash; cases
refer to the version and store only their own state. Parsed specs are cached per hash in memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import forms
from engine.access import LANE_ROLES
from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.errors import InvalidProcess, NotFound
from engine.serialization import REGISTRY

DEFAULT_BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
DEFAULT_KEY = "complaint"
REQUIRED_TASK_PROPERTIES = (forms.FORMS_PROPERTY, "agency", "dueAt")


class ProcessVersion(Base):
    """One deployed version of a process key: its source files and serialized spec, stored once."""

    __tablename__ = "process_version"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), index=True)
    version: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    # large: loaded only when a version is restored or shown, not when a command looks up its version
    source: Mapped[dict[str, str]] = mapped_column(JSONType, deferred=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType, deferred=True)
    active: Mapped[bool] = mapped_column(default=False)
    deployed_by: Mapped[str] = mapped_column(sa.String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class ParsedProcess:
    """A version's executable form: top spec, called/sub specs and form schemas by filename."""

    key: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, dict[str, Any]]


def content_hash(files: Mapping[str, str]) -> str:
    """sha256 over the file names and contents, independent of upload order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def parse(files: Mapping[str, str], key: str | None = None) -> ParsedProcess:
    """Parse and validate a set of files; InvalidProcess lists every finding."""
    parser = SpiffBpmnParser()
    errors: dict[str, list[str]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for name, text in sorted(files.items()):
        try:
            _add_file(parser, name, text, schemas)
        except InvalidProcess as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise InvalidProcess("invalid process files", errors)
    key = key or _top_process(parser)
    try:
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise InvalidProcess("invalid process", {exc.file_name or "bpmn": [_describe(exc)]}) from exc
    parsed = ParsedProcess(key, spec, subprocess_specs, schemas)
    findings = check_user_tasks(parsed)
    if findings:
        raise InvalidProcess("invalid process", findings)
    return parsed


def _add_file(parser: SpiffBpmnParser, name: str, text: str, schemas: dict[str, dict[str, Any]]) -> None:
    try:
        if name.endswith(".bpmn"):
            parser.add_bpmn_str(text.encode(), filename=name)
        elif name.endswith(".dmn"):
            parser.add_dmn_str(text.encode(), filename=name)
        elif name.endswith(".json"):
            schemas[name] = forms.parse_schema(name, text)
        else:
            raise InvalidProcess("unsupported file", {name: ["expected .bpmn, .dmn or .json"]})
    except etree.XMLSyntaxError as exc:
        raise InvalidProcess("malformed XML", {name: [f"line {exc.lineno}: {exc.msg}"]}) from exc
    except ValidationException as exc:
        raise InvalidProcess("invalid BPMN", {name: [_describe(exc)]}) from exc


def _describe(exc: ValidationException) -> str:
    where = f"line {exc.line_number}" if getattr(exc, "line_number", None) else ""
    element = getattr(exc, "id", None) or getattr(exc, "tag", None) or ""
    return " ".join(p for p in (where, f"element {element}" if element else "", str(exc).splitlines()[0]) if p)


def _top_process(parser: SpiffBpmnParser) -> str:
    ids = parser.get_process_ids()
    called = {ref for pid in ids for ref in parser.get_process_parser(pid).called_element_ids()}
    top = [pid for pid in ids if pid not in called]
    if len(top) != 1:
        raise InvalidProcess("cannot tell the main process", {"bpmn": [f"executable top-level processes: {top}"]})
    return str(top[0])


def user_tasks(parsed: ParsedProcess) -> list[UserTask]:
    """Every user task of the version, in the top process and its sub/called processes."""
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    return [ts for spec in specs for ts in spec.task_specs.values() if isinstance(ts, UserTask)]


def check_user_tasks(parsed: ParsedProcess) -> dict[str, list[str]]:
    """Findings about lanes, required properties and form files of every user task."""
    findings: dict[str, list[str]] = {}
    for task in user_tasks(parsed):
        problems: list[str] = []
        if task.lane not in LANE_ROLES:
            problems.append(f"lane {task.lane!r} is not a role ({', '.join(sorted(LANE_ROLES))})")
        props = task.extensions.get("properties", {})
        problems += [f"missing property {p!r}" for p in REQUIRED_TASK_PROPERTIES if not props.get(p)]
        form = props.get(forms.FORMS_PROPERTY)
        if form and form not in parsed.forms:
            problems.append(f"form schema {form!r} is not among the files")
        if problems:
            findings[task.name] = problems
    return findings


def serialize_spec(parsed: ParsedProcess) -> dict[str, Any]:
    return {
        "spec": REGISTRY.convert(parsed.spec),
        "subprocess_specs": {name: REGISTRY.convert(s) for name, s in parsed.subprocess_specs.items()},
    }


def deploy(session: Session, files: Mapping[str, str], deployed_by: str, key: str | None = None) -> ProcessVersion:
    """Validate and store `files` as the next active version of their process (flushes; caller commits).

    Deploying the very same files again returns the existing version instead of a copy.
    """
    parsed = parse(files, key)
    digest = content_hash(files)
    existing = session.scalars(
        sa.select(ProcessVersion).where(ProcessVersion.key == parsed.key, ProcessVersion.hash == digest)
    ).first()
    if existing is not None:
        return existing
    latest = session.scalar(sa.select(sa.func.max(ProcessVersion.version)).where(ProcessVersion.key == parsed.key))
    session.execute(sa.update(ProcessVersion).where(ProcessVersion.key == parsed.key).values(active=False))
    version = ProcessVersion(
        key=parsed.key,
        version=(latest or 0) + 1,
        hash=digest,
        source=dict(files),
        spec=serialize_spec(parsed),
        active=True,
        deployed_by=deployed_by,
    )
    session.add(version)
    session.flush()
    _CACHE.put(digest, parsed)
    return version


def read_files(directory: Path) -> dict[str, str]:
    """The deployable files of a folder: *.bpmn, *.dmn and forms/*.json, named by their base name."""
    paths = [*directory.glob("*.bpmn"), *directory.glob("*.dmn"), *directory.glob("forms/*.json")]
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(paths)}


def deploy_defaults(session: Session) -> ProcessVersion:
    """The active default version, deploying the shipped `bpmn/` files if the key has none yet."""
    current = active_version(session, DEFAULT_KEY, required=False)
    return current or deploy(session, read_files(DEFAULT_BPMN_DIR), deployed_by="system")


def active_version(session: Session, key: str, required: bool = True) -> ProcessVersion | None:
    query = sa.select(ProcessVersion).where(ProcessVersion.key == key, ProcessVersion.active.is_(True))
    version = session.scalars(query).first()
    if version is None and required:
        raise NotFound(f"no active version of process {key!r}")
    return version


class SpecCache:
    """Parsed specs by content hash; restoring a stored spec costs ms, so each is restored once."""

    def __init__(self) -> None:
        self._items: dict[str, ParsedProcess] = {}
        self._lock = threading.Lock()

    def put(self, digest: str, parsed: ParsedProcess) -> None:
        with self._lock:
            self._items[digest] = parsed

    def get(self, version: ProcessVersion) -> ParsedProcess:
        parsed = self._items.get(version.hash)
        if parsed is None:
            parsed = restore(version)
            self.put(version.hash, parsed)
        return parsed


def restore(version: ProcessVersion) -> ParsedProcess:
    """Rebuild a version's spec objects from its stored serialized spec (no XML parsing)."""
    spec = REGISTRY.restore(version.spec["spec"])
    subprocess_specs = {n: REGISTRY.restore(s) for n, s in version.spec["subprocess_specs"].items()}
    schemas = {n: forms.parse_schema(n, t) for n, t in version.source.items() if n.endswith(".json")}
    return ParsedProcess(version.key, spec, subprocess_specs, schemas)


_CACHE = SpecCache()


def parsed_for(version: ProcessVersion) -> ParsedProcess:
    """The cached executable form of a stored version."""
    return _CACHE.get(version)
