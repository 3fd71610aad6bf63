"""Checking an upload before anything is stored (engine.processes.validation, engine.processes.dry_run).

Each invalid upload is the shipped lifecycle with one mistake a process owner could make in the modeler;
the finding names the file, the element and the line.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from engine.errors import InvalidProcess
from engine.processes import dry_run, validation
from engine.processes import registry as processes
from tests.data import DATA, shipped_bundle

Files = dict[str, str]
ROUTING = processes.shared_files(processes.DEFAULT_BPMN_DIR)["routing.dmn"]
SHARED = {"route_category": ROUTING}


@pytest.fixture(autouse=True)
def no_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test validates from scratch."""
    monkeypatch.setattr(validation, "_VALIDATED", validation._Memo())


def findings(files: Files, shared: dict[str, str] | None = None) -> dict[str, list[str]]:
    with pytest.raises(InvalidProcess) as error:
        validation.parse_process(files, SHARED if shared is None else shared)
    return error.value.errors


def change(old: str, new: str, file: str = "complaint.bpmn") -> Callable[[Files], Files]:
    def transform(files: Files) -> Files:
        assert old in files[file], old
        return {**files, file: files[file].replace(old, new, 1)}

    return transform


def without(name: str) -> Callable[[Files], Files]:
    return lambda files: {k: v for k, v in files.items() if k != name}


ROUTE_AS_CALL = (
    '<bpmn:businessRuleTask id="route" name="Propose agency">\n'
    "      <bpmn:extensionElements>\n"
    "        <spiffworkflow:calledDecisionId>route_category</spiffworkflow:calledDecisionId>\n"
    "      </bpmn:extensionElements>\n"
    "      <bpmn:incoming>f_intake_1</bpmn:incoming>\n"
    "      <bpmn:outgoing>f_intake_2</bpmn:outgoing>\n"
    "    </bpmn:businessRuleTask>"
)
VERIFY_BREACH_TIMER = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">verify_due</bpmn:timeDate>'

# cutting the last 40 characters leaves the parser stuck on the diagram's (new) last line
DIAGRAM = processes.read_files(processes.DEFAULT_BPMN_DIR)["complaint.bpmn"]
BROKEN_LINE = len(DIAGRAM[:-40].splitlines())
FIRST_FLOW = '<bpmn:sequenceFlow id="f_intake_1" sourceRef="start" targetRef="route" />'
FIRST_FLOW_LINE = DIAGRAM[: DIAGRAM.index(FIRST_FLOW)].count("\n") + 1

INVALID: dict[str, tuple[Callable[[Files], Files], str, str]] = {
    "broken-xml": (
        lambda files: {**files, "complaint.bpmn": files["complaint.bpmn"][:-40]},
        "complaint.bpmn",
        f"line {BROKEN_LINE}: malformed XML (column 5): expected '>'",
    ),
    "unknown-lane": (
        change('name="officer"', 'name="clerk"'),
        "complaint.bpmn",
        "line 59, element 'lane_officer': lane 'clerk' is not a role (officer, reporter, supervisor, verifier)",
    ),
    "missing-form": (
        without("respond.schema.json"),
        "complaint.bpmn",
        "line 278, element 'respond': form schema 'respond.schema.json' is not among the files",
    ),
    "no-deadline-property": (
        change('<spiffworkflow:property name="dueAt" value="respond_due" />', ""),
        "complaint.bpmn",
        "line 278, element 'respond': missing property 'dueAt'",
    ),
    "unquoted-duration": (
        change(VERIFY_BREACH_TIMER, '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P3D</bpmn:timeDuration>'),
        "complaint.bpmn",
        "line 131, element 'verify_breach': timer expression 'P3D' does not evaluate: 'P3D' is not set by any"
        ' script, decision, form or message (a fixed duration must be quoted: "P3D")',
    ),
    "timer-not-a-date": (
        change("reminder_at(respond_due)", "'next Monday'"),
        "complaint.bpmn",
        "line 302, element 'respond_reminder': timer expression \"'next Monday'\": must give an ISO-8601"
        " date-time string, got 'next Monday'",
    ),
    "missing-called-process": (
        change(
            ROUTE_AS_CALL,
            ROUTE_AS_CALL.replace("businessRuleTask", "callActivity")
            .replace('name="Propose agency"', 'name="Propose agency" calledElement="routing_process"')
            .replace("<spiffworkflow:calledDecisionId>route_category</spiffworkflow:calledDecisionId>\n", ""),
        ),
        "complaint.bpmn",
        "line 81, element 'route': called process 'routing_process' is not among the files (processes: complaint)",
    ),
    "missing-decision": (
        change("<spiffworkflow:calledDecisionId>deadlines<", "<spiffworkflow:calledDecisionId>sla<"),
        "complaint.bpmn",
        "line 88, element 'set_deadlines': called decision 'sla' is neither among the files nor deployed on its own"
        " (decisions: deadlines, route_category)",
    ),
    "schema-violation": (
        change(
            '<bpmn:sequenceFlow id="f_intake_1" sourceRef="start" targetRef="route" />',
            '<bpmn:sequenceFlow id="f_intake_1" sourceRef="start" targetRef="route"><bpmn:note/></bpmn:sequenceFlow>',
        ),
        "complaint.bpmn",
        f"line {FIRST_FLOW_LINE}: Element 'bpmn:note': This element is not expected.",
    ),
    "script-error-in-dry-run": (
        change("update_case(status='dispositioned', agency=agency", "update_case(status='disposed', agency=agency"),
        "complaint.bpmn",
        "line 250, element 'dispose': dry run (main path): ValueError:update_case: unknown status 'disposed'",
    ),
    "no-branch-taken": (
        change("decision == 'accept'", "decision == 'accepted'"),
        "complaint.bpmn",
        "line 188, element 'verification_decision': dry run (main path): No conditions satisfied",
    ),
    "invalid-form-schema": (
        lambda files: {**files, "verify.schema.json": '{"type": "object", "properties": {"x": {"type": 5}}}'},
        "verify.schema.json",
        "invalid form schema: 5 is not valid under any of the given schemas",
    ),
    "bad-decision-cell": (
        change("<text>3</text>", "<text>3 +</text>", "deadlines.dmn"),
        "deadlines.dmn",
        "line 26, element 'deadlines_aspiration_verify': Malformed Output Expression '3 +'",
    ),
    "entity-expansion": (
        lambda files: {
            **files,
            "complaint.bpmn": '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
            "<d>&b;</d>",
        },
        "complaint.bpmn",
        "line 2: a DOCTYPE (with its entity declarations) is not allowed in BPMN or DMN",
    ),
    "external-entity": (
        lambda files: {
            **files,
            "complaint.bpmn": '<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>',
        },
        "complaint.bpmn",
        "line 1: a DOCTYPE (with its entity declarations) is not allowed in BPMN or DMN",
    ),
    "unsupported-file": (
        lambda files: {**files, "notes.txt": "remember the milk"},
        "notes.txt",
        "unsupported file: expected .bpmn, .dmn or .json",
    ),
    "unsafe-file-name": (
        lambda files: {**files, "../forms/x.json": "{}"},
        "../forms/x.json",
        "file names are letters, digits, '.', '_' and '-' (at most 100)",
    ),
    "too-large": (
        lambda files: {**files, "big.json": " " * (validation.MAX_FILE_CHARS + 1)},
        "big.json",
        "larger than 1000000 characters",
    ),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_an_invalid_upload_is_refused_with_a_precise_finding(name: str) -> None:
    transform, file, message = INVALID[name]
    errors = findings(transform(shipped_bundle()))
    assert list(errors) == [file]
    assert len(errors[file]) == 1
    assert errors[file][0].startswith(message)


def test_every_finding_of_a_stage_is_reported_at_once() -> None:
    files = change('name="officer"', 'name="clerk"')(without("respond.schema.json")(shipped_bundle()))
    assert findings(files) == {
        "complaint.bpmn": [
            "line 59, element 'lane_officer': lane 'clerk' is not a role (officer, reporter, supervisor, verifier)",
            "line 278, element 'respond': form schema 'respond.schema.json' is not among the files",
        ]
    }


def test_an_invalid_upload_stores_nothing(session: Session) -> None:
    processes.deploy_defaults(session)
    session.commit()
    with pytest.raises(InvalidProcess):
        processes.deploy(session, change('name="officer"', 'name="clerk"')(shipped_bundle()), "owner")
    session.rollback()
    assert [v.version for v in processes.versions(session, "complaint")] == [1]


def test_a_loop_that_never_waits_is_caught_by_the_dry_run() -> None:
    loop = (DATA / "invalid" / "loop.bpmn").read_text()
    assert findings({"loop.bpmn": loop}, {}) == {
        "loop.bpmn": [
            "line 7, element 'count': dry run (main path): more than 500 engine steps without waiting: a loop?"
        ]
    }


def test_a_branch_that_stops_without_waiting_is_a_finding() -> None:
    dead_end = shipped_bundle()
    for piece in (
        '<bpmn:sequenceFlow id="f_rejected" sourceRef="archive_rejected" targetRef="rejected_end" />',
        "<bpmn:outgoing>f_rejected</bpmn:outgoing>",
        "<bpmn:incoming>f_rejected</bpmn:incoming>",
    ):
        dead_end = change(piece, "")(dead_end)
    assert findings(dead_end) == {
        "complaint.bpmn": [
            "line 194, element 'archive_rejected': dry run (verify.decision = 'reject'): the case would stop here:"
            " it neither ends nor waits for a task, timer or message"
        ]
    }


# The dry run ----------------------------------------------------------------------------------------------


def test_the_shipped_lifecycle_passes_every_check_and_its_dry_runs_cover_the_branches() -> None:
    parsed = validation.parse_process(shipped_bundle(), SHARED)
    run = dry_run.explore(parsed)
    assert run.problems == []
    # the main path; verify: reject, need_info, timers due; respond: not_authority, delegate, final false, timers due
    assert run.runs == 8
    assert {"verify_due", "info_due", "respond_due", "reply_due", "escalation_due"} <= set(run.data)


def test_sample_form_data_satisfies_the_schema_and_its_conditions() -> None:
    parsed = validation.parse_process(shipped_bundle(), SHARED)
    verify = parsed.forms["verify.schema.json"]
    assert dry_run.sample_data(verify) == {"decision": "accept", "agency": "sandbox"}
    assert dry_run.sample_data(verify, ("decision", "reject")) == {"decision": "reject", "reason": "sandbox"}
    assert dry_run.alternatives(verify) == [("decision", "reject"), ("decision", "need_info")]
    respond = parsed.forms["respond.schema.json"]
    assert dry_run.alternatives(respond) == [("decision", "not_authority"), ("decision", "delegate"), ("final", False)]


def test_an_example_in_the_schema_is_the_main_path_data() -> None:
    schema = {
        "type": "object",
        "required": ["code"],
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "examples": [{"code": "ABC"}],
    }
    assert dry_run.sample_data(schema) == {"code": "ABC"}
