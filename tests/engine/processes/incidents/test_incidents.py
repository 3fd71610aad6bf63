"""A diagram that cannot go on makes an incident, not a 500: nothing of the command is written, the case
is listed as stuck at the element until it moves on, and migrating it to a fixed version lets it finish."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy.orm import Session

from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case, get_case
from engine.processes import incidents
from engine.processes import registry as processes
from engine.processes.incidents import EvaluationFailed, Incident
from engine.processes.validation import ParsedProcess
from tests.data import shipped_bundle
from tests.engine.conftest import VERIFIER, Desk

OWNER = Actor("owner", "process_owner", "batam.diskominfo")
BROKEN_CONDITION = ("decision == 'reject'", "decision == 'rejected'")  # 'reject' now matches no flow


def insert_unvalidated(session: Session, files: Mapping[str, str]) -> processes.ProcessVersion:
    """Store `files` as the next active version of `complaint` the way a deploy did before validation
    existed: parsed, serialized and inserted, with no check at all."""
    parser = SpiffBpmnParser()
    for name, text in files.items():
        if name.endswith(".bpmn"):
            parser.add_bpmn_str(text.encode(), filename=name)
        elif name.endswith(".dmn"):
            parser.add_dmn_str(text.encode(), filename=name)
    forms = {n: processes.forms.parse_schema(n, t) for n, t in files.items() if n.endswith(".json")}
    decisions = {"deadlines": "bundled", "route_category": "bundled"}
    parsed = ParsedProcess("complaint", parser.get_spec("complaint"), parser.get_subprocess_specs("complaint"),
                           forms, decisions)  # fmt: skip
    session.execute(
        sa.update(processes.ProcessVersion).where(processes.ProcessVersion.key == "complaint").values(active=False)
    )
    version = processes.ProcessVersion(
        key="complaint", version=2, kind="process", hash=processes.content_hash(files), source=dict(files),
        spec=processes.serialize_spec(parsed), decisions=decisions, active=True, deployed_by="legacy",
    )  # fmt: skip
    session.add(version)
    session.commit()
    return version


def broken_files(old: str, new: str) -> dict[str, str]:
    files = {**shipped_bundle(), **processes.shared_files(processes.DEFAULT_BPMN_DIR)}
    assert old in files["complaint.bpmn"]
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(old, new)
    return files


def open_incidents(session: Session) -> list[Incident]:
    session.rollback()
    return incidents.listing(session, None, open_only=True)


def event_count(session: Session, case: Case) -> int:
    return len(audit.history(session, case))


def test_a_gateway_without_default_makes_an_incident_and_migrating_to_a_fixed_version_clears_it(
    desk: Desk, session: Session
) -> None:
    insert_unvalidated(session, broken_files(*BROKEN_CONDITION))
    desk.submit()
    case = desk.case
    before = (case.status, case.version, event_count(desk.session, case), sorted(desk.open_tasks()))

    with pytest.raises(EvaluationFailed) as failed:
        desk.do(VERIFIER, "verify", decision="reject", reason="Bukan tentang pelayanan publik")
    assert failed.value.element == "verification_decision"
    assert "verification_decision" in failed.value.message and "No conditions satisfied" in failed.value.message
    case = desk.case
    assert (case.status, case.version, event_count(desk.session, case), sorted(desk.open_tasks())) == before

    (incident,) = open_incidents(desk.session)
    assert (incident.tracking_id, incident.element, incident.process_version) == (
        desk.tracking_id, "verification_decision", 2,
    )  # fmt: skip
    assert incident.message == failed.value.message and incident.resolved_at is None

    with pytest.raises(EvaluationFailed):  # a retry that fails again counts on the same incident
        desk.do(VERIFIER, "verify", decision="reject", reason="Bukan tentang pelayanan publik")
    (incident,) = open_incidents(desk.session)
    assert incident.attempts == 2

    fixed = processes.deploy(desk.session, {**shipped_bundle(), "complaint.bpmn": shipped_bundle()["complaint.bpmn"]
                                            .replace('name="Decision?"', 'name="Verified?"', 1)}, "owner")  # fmt: skip
    number = fixed.version
    desk.session.commit()
    case = desk.case
    report = lifecycle.migrate_case(desk.session, OWNER, case, number)
    assert report.result == "migrated"
    assert open_incidents(desk.session) == []
    (resolved,) = incidents.listing(desk.session, None)
    assert resolved.resolved_at is not None

    desk.do(VERIFIER, "verify", decision="reject", reason="Bukan tentang pelayanan publik")
    case = desk.case
    assert (case.status, case.close_reason) == ("archived", "rejected")


def test_a_script_that_raises_at_intake_is_an_incident_and_no_case(desk: Desk, session: Session) -> None:
    insert_unvalidated(session, broken_files("update_case(status='submitted')", "update_case(status='registered')"))
    with pytest.raises(EvaluationFailed) as failed:
        desk.submit()
    assert failed.value.element == "register"
    assert "unknown status 'registered'" in failed.value.reason
    assert desk.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    (incident,) = open_incidents(desk.session)
    assert (incident.case_id, incident.tracking_id, incident.element) == (None, None, "register")


def test_a_failing_timer_is_retried_by_the_scheduler_and_stays_one_incident(
    desk: Desk, session: Session, clock: time_machine.Coordinates
) -> None:
    insert_unvalidated(session, broken_files("update_case(status='archived', close_reason='incomplete')",
                                             "update_case(status='archived', close_reason=missing_name)"))  # fmt: skip
    desk.submit()
    desk.do(VERIFIER, "verify", decision="need_info", reason="Lokasi tepatnya di mana?")
    clock.move_to(desk.case.next_timer_at + timedelta(days=60))  # past every timer of the reporter's wait
    for _ in range(5):  # reminders fire first; then the timeout fails at the broken script
        lifecycle.run_due(desk._fresh())
        if open_incidents(desk.session):
            break
    (incident,) = open_incidents(desk.session)
    assert (incident.tracking_id, incident.element, incident.attempts) == (desk.tracking_id, "archive_incomplete", 1)
    assert "missing_name" in incident.message
    assert lifecycle.run_due(desk._fresh()) == 0  # the case stays due: the scheduler retries it
    (incident,) = open_incidents(desk.session)
    assert incident.attempts == 2
    assert get_case(desk._fresh(), desk.tracking_id).status == "needs_info"


def test_a_decision_that_finds_no_rule_is_an_incident_at_its_task(desk: Desk, session: Session) -> None:
    files = broken_files("update_case(status='submitted')", "update_case(status='submitted')")
    files["deadlines.dmn"] = files["deadlines.dmn"].replace('<text>"complaint"</text>', '<text>"complain"</text>')
    default_row = files["deadlines.dmn"].index('<rule id="deadlines_default"')
    files["deadlines.dmn"] = files["deadlines.dmn"][:default_row] + files["deadlines.dmn"][
        files["deadlines.dmn"].index("</rule>", default_row) + len("</rule>"):]  # fmt: skip
    insert_unvalidated(session, files)
    with pytest.raises(EvaluationFailed) as failed:
        desk.submit()  # a complaint: no row for it any more, and no default row
    assert failed.value.element == "set_deadlines"
    assert "found no rule" in failed.value.reason
