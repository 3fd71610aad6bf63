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


def at(element: str) -> int:
    """The line of the shipped diagram where the element with this id starts."""
    return DIAGRAM[: DIAGRAM.index(f' id="{element}"')].count("\n") + 1


RESPOND, VERIFY_BREACH, RESPOND_REMINDER = at("respond"), at("verify_breach"), at("respond_reminder")
DISPOSE, DECISION, ARCHIVE_REJECTED = at("dispose"), at("verification_decision"), at("archive_rejected")

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
        f"line {RESPOND}, element 'respond': form schema 'respond.schema.json' is not among the files",
    ),
    "no-deadline-property": (
        change('<spiffworkflow:property name="dueAt" value="respond_due" />', ""),
        "complaint.bpmn",
        f"line {RESPOND}, element 'respond': missing property 'dueAt'",
    ),
    "unquoted-duration": (
        change(VERIFY_BREACH_TIMER, '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P3D</bpmn:timeDuration>'),
        "complaint.bpmn",
        f"line {VERIFY_BREACH}, element 'verify_breach': timer expression 'P3D' does not evaluate:"
        " 'P3D' is not set by any script, decision, form or message (a fixed duration must be quoted: \"P3D\")",
    ),
    "timer-not-a-date": (
        change("reminder_at(respond_due)", "'next Monday'"),
        "complaint.bpmn",
        f"line {RESPOND_REMINDER}, element 'respond_reminder': timer expression \"'next Monday'\":"
        " must give an ISO-8601 date-time string, got 'next Monday'",
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
        f"line {DISPOSE}, element 'dispose': dry run (main path): ValueError:update_case: unknown status 'disposed'",
    ),
    "no-branch-taken": (
        change("decision == 'accept'", "decision == 'accepted'"),
        "complaint.bpmn",
        f"line {DECISION}, element 'verification_decision': exclusive gateway 'Decision?' has no default flow"
        " and no flow for decision = 'accept' (the form verify.schema.json allows it): a case with that value would"
        " stop here; add a flow for it, or make one flow the default; the conditions test 'accepted', which the form"
        " verify.schema.json never produces",
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
            f"line {RESPOND}, element 'respond': form schema 'respond.schema.json' is not among the files",
        ]
    }


def line_of(text: str, file: str = "complaint.bpmn") -> int:
    source = shipped_bundle()[file] if file != "routing.dmn" else ROUTING
    return source[: source.index(text)].count("\n") + 1


NEED_INFO_FLOW = (
    "<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">decision == 'need_info'</bpmn:conditionExpression>"
)


def test_findings_of_every_stage_come_in_one_answer() -> None:
    """Rules on the XML, the routing table, the user tasks and the dry run all report together."""
    files = shipped_bundle()
    for transform in (
        change('name="officer"', 'name="clerk"'),  # a rule: lane names
        change(NEED_INFO_FLOW, NEED_INFO_FLOW.replace("need_info", "need_more")),  # a rule: gateway coverage
        change('<spiffworkflow:property name="dueAt" value="respond_due" />', ""),  # the user-task check
        change("update_case(status='dispositioned', agency=agency", "update_case(status='disposed', agency=agency"),
        change(
            '<bpmn:startEvent id="start"', '<bpmn:dataStoreReference id="archive_store" /><bpmn:startEvent id="start"'
        ),
    ):
        files = transform(files)
    files["routing.dmn"] = ROUTING.replace('"batam.dishub"', '"batam.parking"')  # a rule: routing agencies
    with pytest.raises(InvalidProcess) as error:
        validation.parse_process(files, {}, agencies=frozenset({"batam", "batam.dlh", "batam.dinkes"}))
    found = {(f.file, f.element): f.message for f in validation.findings_of(error.value)}
    assert found[("routing.dmn", "route_parkir_out")].startswith("proposed_agency 'batam.parking' is not an agency")
    assert found[("complaint.bpmn", "verification_decision")].startswith("exclusive gateway 'Decision?' has no")
    assert found[("complaint.bpmn", "lane_officer")].startswith("lane 'clerk' is not a role")
    assert found[("complaint.bpmn", "archive_store")].startswith("data stores are not supported")
    assert found[("complaint.bpmn", "respond")] == "missing property 'dueAt'"
    assert found[("complaint.bpmn", "dispose")].startswith("dry run (main path): ValueError:update_case: unknown")
    assert all(" object at 0x" not in message for message in found.values())


def test_an_exclusive_gateway_without_default_must_cover_every_value_of_the_form() -> None:
    files = change(NEED_INFO_FLOW, NEED_INFO_FLOW.replace("need_info", "accept"))(shipped_bundle())
    errors = findings(files)
    line = line_of('<bpmn:exclusiveGateway id="verification_decision"')
    assert errors["complaint.bpmn"][0] == (
        f"line {line}, element 'verification_decision': exclusive gateway 'Decision?' has no default flow and no"
        " flow for decision = 'need_info' (the form verify.schema.json allows it): a case with that value would"
        " stop here; add a flow for it, or make one flow the default"
    )


def test_a_default_flow_covers_what_the_conditions_do_not() -> None:
    gateway = '<bpmn:exclusiveGateway id="verification_decision" name="Decision?">'
    files = change(NEED_INFO_FLOW, "")(shipped_bundle())
    files = change(gateway, gateway.replace("name=", 'default="f_need_info" name='))(files)
    assert validation.parse_process(files, SHARED).key == "complaint"


PARKIR_LINE = ROUTING[: ROUTING.index('<outputEntry id="route_parkir_out">')].count("\n") + 1


def test_a_routing_table_may_name_only_agencies_of_the_directory() -> None:
    shared = {"route_category": ROUTING.replace('"batam.dishub"', '"batam.parking"')}
    agencies = frozenset({"batam", "batam.dlh", "batam.dishub", "batam.dinkes"})
    with pytest.raises(InvalidProcess) as error:
        validation.parse_decision("routing.dmn", shared["route_category"], agencies)
    assert error.value.errors == {
        "routing.dmn": [
            f"line {PARKIR_LINE}, element 'route_parkir_out':"
            " proposed_agency 'batam.parking' is not an agency of the directory: create it first, or fix the code"
        ]
    }
    bundled = {**shipped_bundle(), "routing.dmn": shared["route_category"]}
    assert "routing.dmn" in findings_with_agencies(bundled, agencies)


def findings_with_agencies(files: Files, agencies: frozenset[str]) -> dict[str, list[str]]:
    with pytest.raises(InvalidProcess) as error:
        validation.parse_process(files, {}, agencies=agencies)
    return error.value.errors


@pytest.mark.parametrize(
    ("transform", "element", "message"),
    [
        (change('isExecutable="true"', 'isExecutable="false"'), "complaint",
         "process 'Complaint lifecycle' is marked not executable (isExecutable=\"false\")"),
        (change('<bpmn:scriptTask id="register" name="Register complaint">',
                '<bpmn:manualTask id="register" name="Register complaint"></bpmn:manualTask><bpmn:scriptTask id="r2">'),
         "register", "manual task 'Register complaint': nobody would be asked to do it"),
        (change('<bpmn:scriptTask id="register" name="Register complaint">',
                '<bpmn:task id="register" name="Register complaint"></bpmn:task><bpmn:scriptTask id="r2">'),
         "register", "task 'Register complaint' has no type"),
        (change("<bpmn:outgoing>f_intake_2</bpmn:outgoing>",
                '<bpmn:outgoing>f_intake_2</bpmn:outgoing><bpmn:outgoing>f_extra</bpmn:outgoing>'
                '</bpmn:businessRuleTask><bpmn:sequenceFlow id="f_extra" sourceRef="route" targetRef="register" />'
                '<bpmn:businessRuleTask id="unused">'),
         "route", "2 flows leave 'Propose agency': let an exclusive gateway choose one of them"),
        (change('id="respond" name="Follow up complaint"', 'id="answer" name="Follow up complaint"'), None,
         "the lifecycle has no user task 'respond': the inboxes, pages and figures rely on it"),
        (lambda files: {**files, "complaint.bpmn": files["complaint.bpmn"].replace("'closed'", "'archived'")}, None,
         "no script sets the status 'closed'"),
    ],
    ids=["not-executable", "manual-task", "untyped-task", "two-outgoing-flows", "no-respond-task", "no-closed-status"],
)  # fmt: skip
def test_what_aduan_cannot_run_is_said_plainly(
    transform: Callable[[Files], Files], element: str | None, message: str
) -> None:
    with pytest.raises(InvalidProcess) as error:
        validation.parse_process(transform(shipped_bundle()), SHARED)
    found = validation.findings_of(error.value)
    assert any(f.element == element and f.message.startswith(message) for f in found), found
    assert all("<" not in f.message and "0x" not in f.message for f in found)


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
            f"line {ARCHIVE_REJECTED}, element 'archive_rejected': dry run (verify.decision = 'reject'):"
            " the case would stop here: it neither ends nor waits for a task, timer or message"
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
