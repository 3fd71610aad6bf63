"""Checking an upload before anything is stored: safe XML, parsing, lanes, forms, calls, timers, a dry run.

Every problem is a `Finding` that names the file, the BPMN/DMN element and (for XML) the line, so a
process owner can fix it in the modeler. `InvalidProcess.errors` maps each file to its findings; the
checks collect every finding of a stage before giving up, and later stages run only on a sound structure
(an unknown called process would otherwise show up again as a failed dry run).
"""

from __future__ import annotations

import ast
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.spiff.parser.process import BpmnValidator, SpiffBpmnParser

from engine.cases import forms
from engine.cases.access import LANE_ROLES
from engine.errors import InvalidProcess
from engine.processes import checks, dry_run, sandbox

EXTENSIONS = (".bpmn", ".dmn", ".json")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_FILES = 40
MAX_FILE_CHARS = 1_000_000
REQUIRED_TASK_PROPERTIES = (forms.FORMS_PROPERTY, "agency", "dueAt")
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}


class Binding(StrEnum):
    """How a lifecycle version reaches a decision it calls (see bpmn/README.md)."""

    BUNDLED = "bundled"  # a .dmn uploaded with the diagram: fixed for that version
    SHARED = "shared"  # a decision deployed on its own: its active version, at each evaluation


@dataclass(frozen=True)
class ParsedProcess:
    """A version's executable form: top spec, sub/called specs, form schemas, and how it binds decisions."""

    key: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, dict[str, Any]]
    decisions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedDecision:
    """A decision deployed on its own: one DMN decision table."""

    id: str
    name: str
    file: str
    table: DecisionTable

    @property
    def engine(self) -> DMNEngine:
        return sandbox.StrictDecisionEngine(self.table)

    @property
    def outputs(self) -> list[str]:
        return [o.name for o in self.table.outputs]


@dataclass(frozen=True)
class Finding:
    """One problem of an upload, where a process owner can find it."""

    file: str
    message: str
    element: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = [f"line {self.line}" if self.line else "", f"element {self.element!r}" if self.element else ""]
        prefix = ", ".join(w for w in where if w)
        return f"{prefix}: {self.message}" if prefix else self.message


class Findings:
    """The findings of one upload, in the order found."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, file: str, message: str, element: str | None = None, line: int | None = None) -> None:
        finding = Finding(file, message, element or None, line or None)
        if finding not in self.items:
            self.items.append(finding)

    def extend(self, other: Iterable[Finding]) -> None:
        for finding in other:
            self.add(finding.file, finding.message, finding.element, finding.line)

    def __bool__(self) -> bool:
        return bool(self.items)

    def errors(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for finding in self.items:
            grouped.setdefault(finding.file, []).append(str(finding))
        return grouped

    def raise_if_any(self, what: str = "invalid process") -> None:
        if self.items:
            count = len(self.items)
            raise InvalidUpload(f"{what}: {count} finding{'s' if count > 1 else ''}", self.errors(), self.items)


class InvalidUpload(InvalidProcess):
    """InvalidProcess that keeps its findings as `Finding`s (file, element, line, message)."""

    def __init__(self, message: str, errors: Mapping[str, list[str]], findings: Iterable[Finding]) -> None:
        super().__init__(message, errors)
        self.findings = list(findings)


def findings_of(error: InvalidProcess) -> list[Finding]:
    """The findings of a failed check: kept as found, or one per message of a plain InvalidProcess."""
    if isinstance(error, InvalidUpload):
        return list(error.findings)
    found: list[Finding] = []
    for file, messages in error.errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            found.append(Finding(str(file), str(message)))
    return found or [Finding("files", error.message)]


class Locator:
    """Where each element id of the uploaded XML files is: (file, line)."""

    def __init__(self, trees: Mapping[str, etree._Element]) -> None:
        self._where: dict[str, tuple[str, int | None]] = {}
        for name, root in trees.items():
            for element in root.iter():
                element_id = element.get("id") if isinstance(element.tag, str) else None
                if element_id and element_id not in self._where:
                    self._where[element_id] = (name, element.sourceline)

    def file(self, element_id: str | None, default: str) -> str:
        return self._where.get(element_id or "", (default, None))[0]

    def line(self, element_id: str | None) -> int | None:
        return self._where.get(element_id or "", ("", None))[1]

    def add(self, findings: Findings, element_id: str | None, message: str, default_file: str) -> None:
        findings.add(self.file(element_id, default_file), message, element_id, self.line(element_id))


# The upload ---------------------------------------------------------------------------------------------


def check_files(files: Mapping[str, str], findings: Findings) -> None:
    """File names, kinds, count and sizes."""
    if not files:
        findings.add("files", "no files: upload the .bpmn, .dmn and form .json files of a version")
    if len(files) > MAX_FILES:
        findings.add("files", f"{len(files)} files; at most {MAX_FILES}")
    for name, text in files.items():
        if not SAFE_NAME.match(name):
            findings.add(name, "file names are letters, digits, '.', '_' and '-' (at most 100)")
        elif not name.endswith(EXTENSIONS):
            findings.add(name, "unsupported file: expected .bpmn, .dmn or .json")
        if len(text) > MAX_FILE_CHARS:
            findings.add(name, f"larger than {MAX_FILE_CHARS} characters")
        if "\x00" in text:
            findings.add(name, "contains NUL characters")


def _xml_parser() -> etree.XMLParser:
    # no entity expansion, no DTD, no network, libxml2's default limits on depth and size; the text was
    # decoded already (see `decode`), so a declared encoding is not applied a second time
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, encoding="utf-8")


XML_DECLARATION = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def decode(name: str, raw: bytes, findings: Findings) -> str | None:
    """An uploaded file as text: XML in the encoding its declaration names (UTF-8 by default, a BOM wins),
    other files as UTF-8. None (and a finding) when the bytes are not text in that encoding."""
    encoding = "utf-8-sig"
    if name.endswith((".bpmn", ".dmn")) and not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        declared = XML_DECLARATION.match(raw.lstrip()[:200])
        encoding = declared.group(1).decode("ascii") if declared else encoding
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    try:
        return raw.decode(encoding)
    except LookupError:
        findings.add(name, f"unknown encoding {encoding!r} in the XML declaration", line=1)
    except UnicodeDecodeError as exc:
        label = "UTF-8" if encoding.startswith("utf-8") else encoding
        findings.add(name, f"not {label} text (byte {exc.start})")
    return None


def safe_xml(name: str, text: str, findings: Findings) -> etree._Element | None:
    """The parsed root of an uploaded XML file; entity tricks and DOCTYPEs are refused."""
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        message = re.sub(r", line \d+, column \d+$", "", exc.msg or "")
        line, column = exc.position
        findings.add(name, f"malformed XML (column {column}): {message}", line=line)
        return None
    if root.getroottree().docinfo.doctype:
        line = text[: max(text.find("<!DOCTYPE"), 0)].count("\n") + 1
        findings.add(name, "a DOCTYPE (with its entity declarations) is not allowed in BPMN or DMN", line=line)
        return None
    return root


def _validation_finding(exc: ValidationException, default_file: str, locator: Locator, findings: Findings) -> None:
    element = getattr(exc, "id", "") or None
    if element and any(finding.element == element for finding in findings.items):
        return  # a rule already said, in plainer words, what is wrong with this element
    file = getattr(exc, "file_name", "") or locator.file(element, default_file)
    line = getattr(exc, "line_number", "") or locator.line(element)
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for namespace, prefix in ((NS["bpmn"], "bpmn:"), (NS["spiffworkflow"], "spiffworkflow:")):
        message = message.replace("{" + namespace + "}", prefix)
    findings.add(file, message.rstrip(". "), element, line if isinstance(line, int) else None)


# Parsing ------------------------------------------------------------------------------------------------


def _dmn_decisions(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "decision"]


def _add_dmn(parser: SpiffBpmnParser, name: str, root: etree._Element, findings: Findings) -> str | None:
    """Add one DMN file; SpiffWorkflow 3.2 reads one decision per file. Returns the decision id."""
    decisions = _dmn_decisions(root)
    if len(decisions) != 1:
        findings.add(name, f"{len(decisions)} decisions; put exactly one decision in each .dmn file", line=1)
        return None
    decision_id = decisions[0].get("id")
    if not decision_id:
        findings.add(name, "the decision has no id", line=decisions[0].sourceline)
        return None
    if decision_id in parser.dmn_parsers:
        findings.add(name, f"decision {decision_id!r} is defined twice", decision_id, decisions[0].sourceline)
        return None
    try:
        parser.add_dmn_xml(root, filename=name)
        parser.dmn_parsers[decision_id].parse()
    except ValidationException as exc:
        _validation_finding(exc, name, Locator({name: root}), findings)
        return None
    except (KeyError, IndexError, AttributeError, TypeError, ValueError):
        # SpiffWorkflow's own message is an internal object's repr: say what to look at instead
        message = "cannot read the decision table: check its inputs, outputs and that every rule has one cell each"
        findings.add(name, message, decision_id, decisions[0].sourceline)
        return None
    table = parser.dmn_parsers[decision_id].decision.decisionTables[0]
    _check_decision_expressions(table, Locator({name: root}), name, findings)
    return str(decision_id)


def _check_decision_expressions(table: DecisionTable, locator: Locator, file: str, findings: Findings) -> None:
    """Every input expression and output entry of a decision table is a Python expression."""
    for item in table.inputs:
        _compiles(item.expression, item.id, "input expression", locator, file, findings)
    for rule in table.rules:
        for entry in rule.outputEntries:
            what = f"output {entry.output.name!r} of rule {rule.id!r}"
            _compiles(entry.text, entry.id, what, locator, file, findings)


def _compiles(text: str | None, element: str, what: str, locator: Locator, file: str, findings: Findings) -> None:
    if not text or not text.strip():
        return
    try:
        compile(text, element, "eval")
    except SyntaxError as exc:
        locator.add(findings, element, f"{what} {text!r} is not a Python expression ({exc.msg})", file)


def parse_decision(name: str, text: str, agencies: frozenset[str] | None = None) -> ParsedDecision:
    """One decision uploaded on its own; InvalidProcess with every finding (with `agencies`: routing
    cells must name one of them)."""
    findings = Findings()
    check_files({name: text}, findings)
    if not name.endswith(".dmn"):
        findings.add(name, "a decision deployed on its own is one .dmn file")
    findings.raise_if_any("invalid decision")
    root = safe_xml(name, text, findings)
    parser = SpiffBpmnParser(validator=BpmnValidator())
    decision_id = _add_dmn(parser, name, root, findings) if root is not None else None
    if root is not None and agencies is not None:
        for issue in checks.routing_issues({name: root}, agencies):
            findings.add(issue.file, issue.message, issue.element, issue.line)
    findings.raise_if_any("invalid decision")
    assert decision_id is not None
    decision = parser.dmn_parsers[decision_id].decision
    return ParsedDecision(decision_id, decision.name, name, decision.decisionTables[0])


@dataclass
class _Upload:
    """A lifecycle upload on its way through the checks."""

    files: Mapping[str, str]
    shared: Mapping[str, str]
    findings: Findings = field(default_factory=Findings)
    trees: dict[str, etree._Element] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    bundled: set[str] = field(default_factory=set)
    unreadable: bool = False  # a file SpiffWorkflow could not take: no spec can be built
    parser: SpiffBpmnParser = field(default_factory=lambda: SpiffBpmnParser(validator=BpmnValidator()))

    @property
    def locator(self) -> Locator:
        return Locator(self.trees)


def _read(upload: _Upload) -> None:
    """Read every file of the upload: XML safely into `trees`, form schemas into `schemas`."""
    for name, text in sorted(upload.files.items()):
        if name.endswith(".json"):
            try:
                upload.schemas[name] = forms.parse_schema(name, text)
            except InvalidProcess as exc:
                for messages in exc.errors.values():
                    for message in messages:
                        upload.findings.add(name, f"invalid form schema: {message}")
            continue
        root = safe_xml(name, text, upload.findings)
        if root is None:
            upload.unreadable = True
        else:
            upload.trees[name] = root
    if not any(name.endswith(".bpmn") for name in upload.files):
        upload.findings.add("files", "no .bpmn file: a process version needs its diagram")


def _parse(upload: _Upload) -> None:
    """Give every readable diagram and decision to SpiffWorkflow's parser; what it refuses is a finding
    (unless a rule already said, in plainer words, what is wrong with that element)."""
    for name, root in sorted(upload.trees.items()):
        if name.endswith(".bpmn"):
            try:
                upload.parser.add_bpmn_xml(root, filename=name)
            except ValidationException as exc:
                upload.unreadable = True
                _validation_finding(exc, name, Locator({name: root}), upload.findings)
        else:
            decision_id = _add_dmn(upload.parser, name, root, upload.findings)
            if decision_id:
                upload.bundled.add(decision_id)
            else:
                upload.unreadable = True


def _rules(upload: _Upload, key: str | None, agencies: frozenset[str] | None) -> None:
    """The rules read from the XML and forms alone (engine.processes.checks), and the lanes."""
    shared_trees = {f"{d}.dmn": root for d, text in upload.shared.items()
                    if (root := safe_xml(d, text, Findings())) is not None}  # fmt: skip
    outputs = checks.decision_outputs({**shared_trees, **upload.trees})
    issues = checks.diagram_issues(upload.trees, upload.schemas, outputs)
    if agencies is not None:
        issues += checks.routing_issues(upload.trees, agencies)
    if (key or _main_process_id(upload.trees)) == checks.LIFECYCLE_KEY:
        issues += checks.platform_issues(upload.trees, upload.schemas)
    for issue in issues:
        upload.findings.add(issue.file, issue.message, issue.element, issue.line)
    check_lanes(upload.trees, upload.findings)


def _main_process_id(trees: Mapping[str, etree._Element]) -> str | None:
    """The id of the first process of the first diagram (the platform rules apply to the complaint lifecycle)."""
    for name in sorted(trees):
        if name.endswith(".bpmn"):
            process = trees[name].find("bpmn:process", NS)
            if process is not None:
                return str(process.get("id"))
    return None


def _top_process(upload: _Upload, key: str | None) -> str | None:
    ids = upload.parser.get_process_ids()
    if key is not None:
        if key not in ids:
            upload.findings.add("files", f"no process {key!r} among the diagrams (processes: {', '.join(ids)})")
            return None
        return key
    called = {ref for pid in ids for ref in upload.parser.get_process_parser(pid).called_element_ids()}
    top = [pid for pid in ids if pid not in called]
    if len(top) != 1:
        upload.findings.add("files", f"expected one main (not called) process, found {top or 'none'}")
        return None
    return str(top[0])


def _check_calls(upload: _Upload) -> dict[str, str]:
    """Called processes and decisions exist; returns how each called decision is bound."""
    processes = set(upload.parser.get_process_ids())
    bindings: dict[str, str] = {}
    for name, root in upload.trees.items():
        for el in root.iterfind(".//bpmn:callActivity", NS):
            ref = el.get("calledElement")
            if ref not in processes:
                upload.findings.add(
                    name, f"called process {ref!r} is not among the files (processes: {', '.join(sorted(processes))})",
                    el.get("id"), el.sourceline,
                )  # fmt: skip
        for el in root.iterfind(".//bpmn:businessRuleTask", NS):
            ref = (el.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS) or "").strip()
            if not ref:
                message = "names no decision (spiffworkflow:calledDecisionId)"
                upload.findings.add(name, message, el.get("id"), el.sourceline)
            elif ref in upload.bundled:
                bindings[ref] = Binding.BUNDLED
            elif ref in upload.shared:
                bindings[ref] = Binding.SHARED
            else:
                available = sorted(upload.bundled | set(upload.shared))
                upload.findings.add(
                    name,
                    f"called decision {ref!r} is neither among the files nor deployed on its own"
                    f" (decisions: {', '.join(available) or 'none'})",
                    el.get("id"), el.sourceline,
                )  # fmt: skip
    return bindings


def _add_shared(upload: _Upload, bindings: Mapping[str, str]) -> None:
    """Give the parser the active version of each shared decision the diagram calls."""
    for decision_id, binding in sorted(bindings.items()):
        if binding != Binding.SHARED:
            continue
        label = f"{decision_id} (decision deployed on its own)"
        root = safe_xml(label, upload.shared[decision_id], upload.findings)
        if root is not None:
            _add_dmn(upload.parser, label, root, upload.findings)


def _specs(upload: _Upload, key: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]] | None:
    try:
        spec, subprocess_specs = upload.parser.get_spec(key), upload.parser.get_subprocess_specs(key)
        sandbox.strict_decisions([spec, *subprocess_specs.values()])
        return spec, subprocess_specs
    except ValidationException as exc:
        _validation_finding(exc, "files", upload.locator, upload.findings)
    return None


# Checks on the parsed version ---------------------------------------------------------------------------


def user_tasks(parsed: ParsedProcess) -> list[UserTask]:
    """Every user task of the version, in the top process and its sub/called processes."""
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    return [ts for spec in specs for ts in spec.task_specs.values() if isinstance(ts, UserTask)]


def check_lanes(trees: Mapping[str, etree._Element], findings: Findings) -> None:
    """Every lane is named after a role that does tasks."""
    roles = ", ".join(sorted(LANE_ROLES))
    for name, root in trees.items():
        for lane in root.iterfind(".//bpmn:lane", NS):
            if lane.get("name") not in LANE_ROLES:
                message = f"lane {lane.get('name')!r} is not a role ({roles})"
                findings.add(name, message, lane.get("id"), lane.sourceline)


def check_user_tasks(
    parsed: ParsedProcess, locator: Locator, findings: Findings, uploaded: Collection[str] = ()
) -> None:
    """Every user task sits in a lane and names its form (among the files), agency and deadline."""
    for task in user_tasks(parsed):
        problems: list[str] = []
        if not task.lane:
            problems.append("is in no lane: draw it in the lane of the role who does it")
        props = task.extensions.get("properties", {})
        problems += [f"missing property {p!r}" for p in REQUIRED_TASK_PROPERTIES if not props.get(p)]
        form = props.get(forms.FORMS_PROPERTY)
        if form and form not in parsed.forms and form not in uploaded:  # an uploaded invalid form has its finding
            problems.append(f"form schema {form!r} is not among the files")
        for problem in problems:
            locator.add(findings, task.bpmn_id, problem, "files")


def assigned_names(parsed: ParsedProcess, outputs: Iterable[str]) -> set[str]:
    """Every variable something in the version sets: scripts, decisions, forms, messages, the engine."""
    names = set(dry_run.SAMPLE_START) | set(outputs)
    names |= {prop for schema in parsed.forms.values() for prop in schema.get("properties", {})}
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        names |= set(getattr(spec, "data_objects", {}) or {})
        for ts in spec.task_specs.values():
            for attribute in ("script", "prescript", "postscript"):
                names |= _stored_names(getattr(ts, attribute, None))
            variable = getattr(getattr(ts, "event_definition", None), "variable", None)
            if variable:
                names.add(variable)
    return names


def _stored_names(script: str | None) -> set[str]:
    if not script:
        return set()
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


# What a diagram evaluates, by the XML element that holds it: (mode, what) for the sandbox check
_CODE = {
    "script": ("exec", "script"),
    "preScript": ("exec", "pre-script"),
    "postScript": ("exec", "post-script"),
    "conditionExpression": ("eval", "condition"),
    "timeDuration": ("eval", "timer expression"),
    "timeDate": ("eval", "timer expression"),
    "timeCycle": ("eval", "timer expression"),
    "condition": ("eval", "condition"),  # of a conditional event
    "loopCardinality": ("eval", "loop cardinality"),
    "completionCondition": ("eval", "completion condition"),
    "messagePayload": ("eval", "message payload"),
}
_CODE_PROPERTIES = ("agency", "dueAt")


def check_code(trees: Mapping[str, etree._Element], findings: Findings) -> bool:
    """Every script and expression of the upload compiles for the sandbox (engine.processes.sandbox): no imports,
    no `_` names, no try/except, constant format widths. Compiling runs nothing. True when one is refused."""
    refused = False
    for name, root in trees.items():
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            local = etree.QName(el).localname
            text = (el.text or "").strip()
            if local == "property" and el.get("name") in _CODE_PROPERTIES:
                mode, what, text = "eval", f"property {el.get('name')}", (el.get("value") or "").strip()
            elif local in _CODE:
                mode, what = _CODE[local]
            elif local == "text" and _parent_name(el) in ("inputExpression", "inputEntry", "outputEntry"):
                mode, what = "eval", "decision expression"
                if _parent_name(el) == "inputEntry" and text != "-":
                    text = _match_expression(text)
            else:
                continue
            problem = sandbox.check(text, mode) if text and text != "-" else None  # type: ignore[arg-type]
            if problem:
                # named by its flow element (a timer by its event, not the event definition inside)
                holder = next((a for a in el.iterancestors() if a.get("id") and not _definition(a)), None)
                element = holder.get("id") if holder is not None else None
                findings.add(name, f"{what} is not allowed in diagram code: {problem}", element, el.sourceline)
                refused = True
    return refused


def _definition(el: etree._Element) -> bool:
    return str(etree.QName(el).localname).endswith("EventDefinition")


def _parent_name(el: etree._Element) -> str:
    parent = el.getparent()
    return etree.QName(parent).localname if parent is not None else ""


def _match_expression(text: str) -> str:
    """A DMN input entry as the decision engine evaluates it (`v == "a"`, `v < 5`, `4 < v < 6`)."""
    if "?" in text:
        return text.replace("?", "v")
    return f"v == {text}" if sandbox.check(f"v {text}") else f"v {text}"


def check_behaviour(upload: _Upload, parsed: ParsedProcess, marked: frozenset[str] = frozenset()) -> None:
    """The dry run of the main paths, then every timer expression with the data the runs produced."""
    locator = upload.locator
    marked = marked | {finding.element for finding in upload.findings.items if finding.element}
    run = dry_run.explore(parsed)
    outputs = [o.name for p in upload.parser.dmn_parsers.values() for o in p.decision.decisionTables[0].outputs]
    timer_problems = dry_run.check_timers(parsed, run.data, assigned_names(parsed, outputs))
    for problem in timer_problems:
        if problem.element not in marked:
            locator.add(upload.findings, problem.element, problem.message, "files")
    if timer_problems:
        return  # a run fails where it arms such a timer: that failure says no more than the finding
    for problem in run.problems:
        if problem.element in marked:
            continue  # a rule already said what is wrong there; the failed run would only repeat it
        locator.add(upload.findings, problem.element, f"dry run ({problem.path}): {problem.message}", "files")


# The whole check ----------------------------------------------------------------------------------------


def parse_process(
    files: Mapping[str, str],
    shared: Mapping[str, str] | None = None,
    key: str | None = None,
    agencies: frozenset[str] | None = None,
) -> ParsedProcess:
    """Parse and check a lifecycle upload; InvalidProcess lists every finding of every stage at once.

    `shared` holds the DMN source of the active version of each decision deployed on its own, by decision
    id; the diagram may call those as well as the decisions among `files`. With `agencies`, the routing
    cells must name one of them. Stages that need a sound structure (building the specs, the dry run) run
    when the files could be parsed, and their findings join the others. Results are memoized by content.
    """
    shared = shared or {}
    digest = _digest(files, shared, key, agencies)
    cached = _VALIDATED.get(digest)
    if cached is not None:
        return cached
    # CPython 3.11's ast module keeps its recursion counter per interpreter, not per thread: concurrent
    # uploads parsing their code at once fail with SystemError. The static checks (milliseconds) take turns;
    # the dry run below runs in its own process, outside the lock.
    with _STATIC_CHECKS:
        upload = _Upload(files, shared)
        check_files(files, upload.findings)
        upload.findings.raise_if_any()
        _read(upload)
        _rules(upload, key, agencies)
        _parse(upload)
        if upload.unreadable or not upload.parser.get_process_ids():
            upload.findings.raise_if_any()
        before = len(upload.findings.items)
        top = _top_process(upload, key)
        bindings = _check_calls(upload)
        if len(upload.findings.items) > before:
            upload.findings.raise_if_any()
        _add_shared(upload, bindings)
        specs = _specs(upload, str(top))
        if specs is None:
            upload.findings.raise_if_any()
        assert specs is not None
        parsed = ParsedProcess(str(top), specs[0], specs[1], upload.schemas, dict(sorted(bindings.items())))
        check_user_tasks(parsed, upload.locator, upload.findings, upload.files.keys())
        unsafe = check_code(upload.trees, upload.findings)
        formless = any(
            finding.file in upload.schemas or finding.file.endswith(".json") for finding in upload.findings.items
        )
    if not unsafe and not formless:  # a run needs every task's form, and runs no refused code
        marked = sorted({finding.element for finding in upload.findings.items if finding.element})
        upload.findings.extend(_isolated_behaviour(files, shared, key, marked))
    upload.findings.raise_if_any()
    _VALIDATED.put(digest, parsed)
    return parsed


def _isolated_behaviour(
    files: Mapping[str, str], shared: Mapping[str, str], key: str | None, marked: list[str]
) -> list[Finding]:
    """The dry run of a sound upload, in a killable child process (engine.processes.sandbox.run_isolated)."""
    try:
        return sandbox.run_isolated(behaviour_findings, dict(files), dict(shared), key, marked)
    except sandbox.IsolationFailed as exc:
        return [Finding("files", f"dry run: {exc}")]


def behaviour_findings(
    files: Mapping[str, str], shared: Mapping[str, str], key: str | None, marked: list[str]
) -> list[Finding]:
    """In the child: parse the (already checked) upload again and dry-run it; the findings, as plain data.
    Elements in `marked` already have a finding: a failed run there would only repeat it."""
    upload = _Upload(files, shared)
    _read(upload)
    _parse(upload)
    top = _top_process(upload, key)
    bindings = _check_calls(upload)
    _add_shared(upload, bindings)
    specs = _specs(upload, str(top))
    if specs is None or upload.findings:
        return upload.findings.items
    parsed = ParsedProcess(str(top), specs[0], specs[1], upload.schemas, dict(sorted(bindings.items())))
    check_behaviour(upload, parsed, frozenset(marked))
    return upload.findings.items


def _digest(
    files: Mapping[str, str], shared: Mapping[str, str], key: str | None, agencies: frozenset[str] | None
) -> str:
    digest = hashlib.sha256((key or "").encode() + b"\0")
    digest.update(b"a" + "\0".join(sorted(agencies)).encode() + b"\0" if agencies is not None else b"-\0")
    for prefix, items in ((b"f", files), (b"s", shared)):
        for name in sorted(items):
            digest.update(prefix + name.encode() + b"\0" + items[name].encode() + b"\0")
    return digest.hexdigest()


_STATIC_CHECKS = threading.Lock()


class _Memo:
    """Recently validated uploads by content digest (validation runs dry runs: tens of ms)."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[str, ParsedProcess] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, digest: str) -> ParsedProcess | None:
        with self._lock:
            parsed = self._items.get(digest)
            if parsed is not None:
                self._items.move_to_end(digest)
            return parsed

    def put(self, digest: str, parsed: ParsedProcess) -> None:
        with self._lock:
            self._items[digest] = parsed
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_VALIDATED = _Memo()
