"""Moving running cases onto another version (engine.processes.migration, lifecycle.migrate_case / migrate_cases)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin

from engine.cases import lifecycle, tasks
from engine.cases.access import Actor
from engine.errors import NotFound
from engine.processes import migration, serialization
from engine.processes import registry as processes
from tests.data import bundle_with, fixture, shipped_bundle
from tests.engine.cases.test_lifecycle import wib
from tests.engine.conftest import DLH, VERIFIER, VERIFIER_HEAD, Desk
from tests.engine.processes.test_serialization import restore

OWNER = Actor("owner", "process_owner", "batam")


def deploy(desk: Desk, files: dict[str, str]) -> int:
    version = processes.deploy(desk._fresh(), files, "owner")
    desk.session.commit()
    return version.version


def migrate(
    desk: Desk, to_version: int, dry_run: bool = False, mapping: dict[str, str] | None = None
) -> migration.Report:
    case = desk.case
    return lifecycle.migrate_case(desk.session, OWNER, case, to_version, dry_run, mapping=mapping)


def refused(desk: Desk, to_version: int) -> list[str]:
    with pytest.raises(migration.Refused) as error:
        migrate(desk, to_version)
    assert error.value.errors == {"reasons": error.value.report.reasons}
    return error.value.report.reasons


def version_of(desk: Desk) -> int:
    case = desk.case  # a fresh session: read it before using desk.session
    return desk.session.get_one(processes.ProcessVersion, case.process_version_id).version


def finish(desk: Desk) -> None:
    desk.do(DLH, "respond", decision="respond", message="Sampah sudah diangkut.")
    desk.reply(message="Terima kasih", satisfied=True, rating=5)


# Safe moves -----------------------------------------------------------------------------------------------


def test_a_case_waiting_for_verification_moves_to_a_version_with_a_new_step_and_runs_it(
    desk: Desk, clock: object
) -> None:
    desk.submit(category="kebersihan")
    verify = desk.task("verify")
    lifecycle.claim_task(desk._fresh(), VERIFIER, verify.id)
    timer_before = desk.case.next_timer_at
    deploy(desk, bundle_with("thank_reporter"))
    report = migrate(desk, 2)
    assert (report.result, report.from_version, report.to_version, report.reasons) == ("migrated", 1, 2, [])
    assert report.diff["added"] == ["thank_reporter"]
    assert version_of(desk) == 2
    kept = desk.task("verify")
    assert (kept.id, kept.assignee, kept.due_at) == (verify.id, "verifier", verify.due_at)
    assert desk.case.next_timer_at == timer_before
    event = desk.events()[-1]
    assert (event.type, event.actor, event.data["from_version"], event.data["to_version"]) == (
        "migrated",
        "owner",
        1,
        2,
    )
    assert event.data["diff"]["added"] == ["thank_reporter"]
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    finish(desk)
    assert (desk.case.status, desk.case.close_reason) == ("closed", "satisfied")
    assert desk.events()[-1].data["notifications"][0]["template"] == "thank_reporter"


def test_a_case_in_follow_up_moves_and_keeps_its_deadlines(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    respond, timer = desk.task("respond"), desk.case.next_timer_at
    deploy(desk, bundle_with("thank_reporter"))
    assert migrate(desk, 2).result == "migrated"
    assert (desk.task("respond").id, desk.task("respond").due_at, desk.case.next_timer_at) == (
        respond.id, wib(2026, 12, 7), timer,
    )  # fmt: skip
    finish(desk)
    assert desk.events()[-1].data["notifications"][0]["template"] == "thank_reporter"


def test_a_changed_timer_of_the_current_step_is_armed_again_from_the_new_version(desk: Desk, clock: object) -> None:
    desk.submit()
    assert desk.case.next_timer_at == wib(2026, 12, 3, 8, 0, 0)  # reminder at 08:00 on the due day
    files = shipped_bundle()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace("reminder_at(verify_due)", "reminder_at(verify_due, 14)")
    deploy(desk, files)
    report = migrate(desk, 2)
    assert report.diff["changed"] == {"verify_reminder": ["event_definition"]}
    assert desk.case.next_timer_at == wib(2026, 12, 3, 14, 0, 0)


def test_a_routing_change_deployed_alone_does_not_stand_in_the_way_of_a_migration(desk: Desk, clock: object) -> None:
    desk.submit(category="kesehatan")  # routed with the first routing table
    processes.deploy(desk._fresh(), fixture("routing_puskesmas"), "owner")
    desk.session.commit()
    deploy(desk, bundle_with("thank_reporter"))
    report = migrate(desk, 2)
    assert report.result == "migrated"
    assert report.diff == {
        "added": ["thank_reporter"],
        "removed": [],
        "changed": {"close_satisfied": ["outputs"], "satisfied_end": ["inputs"]},
    }  # nothing about `route`: both sides are compared with today's routing table


# Refusals -------------------------------------------------------------------------------------------------


def test_a_case_whose_completed_steps_change_is_refused_with_reasons_and_left_as_it_was(
    desk: Desk, clock: object
) -> None:
    desk.submit()
    events = len(desk.events())
    files = shipped_bundle()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        "proposed_agency = agency or proposed_agency", "proposed_agency = proposed_agency or agency"
    )
    deploy(desk, files)
    assert refused(desk, 2) == ["'register' (Register complaint) has already run, and version 2 changes it (script)"]
    assert (version_of(desk), len(desk.events())) == (1, events)


# Carrying a policy change -----------------------------------------------------------------------------


def test_a_deadline_change_moves_the_open_deadline_and_timers_and_the_dry_run_shows_each(
    desk: Desk, clock: object
) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    respond = desk.task("respond")
    assert respond.due_at == wib(2026, 12, 7)  # 5 working days
    timer = desk.case.next_timer_at
    deploy(desk, bundle_with("respond_3_days"))
    events = len(desk.events())

    preview = migrate(desk, 2, dry_run=True)
    assert preview.result == "migratable"
    assert preview.decisions == {  # both looked the deadlines up: at intake and when the verifier accepted
        "reclassify": {"followup_days": [5, 3]},
        "set_deadlines": {"followup_days": [5, 3]},
    }
    assert preview.deadlines == [
        {
            "task": respond.id,
            "name": "respond",
            "from": wib(2026, 12, 7).isoformat(),
            "to": wib(2026, 12, 3).isoformat(),
        }
    ]
    assert preview.next_timer == [timer.isoformat(), wib(2026, 12, 3, 8, 0, 0).isoformat()]  # the reminder
    assert (version_of(desk), desk.task("respond").due_at, len(desk.events())) == (1, wib(2026, 12, 7), events)

    report = migrate(desk, 2)
    assert (report.result, report.deadlines, report.decisions) == ("migrated", preview.deadlines, preview.decisions)
    assert (desk.task("respond").id, desk.task("respond").due_at) == (respond.id, wib(2026, 12, 3))
    assert desk.case.next_timer_at == wib(2026, 12, 3, 8, 0, 0)
    event = desk.events()[-1]
    assert event.type == "migrated" and event.data["deadlines"] == preview.deadlines
    assert event.data["decisions"] == preview.decisions
    finish(desk)
    assert desk.case.status == "closed"


def test_a_deadline_change_reaches_a_step_the_case_has_not_reached_yet(desk: Desk, clock: object) -> None:
    desk.submit()  # deadlines looked up at intake: 5 days for the follow-up
    deploy(desk, bundle_with("respond_3_days"))
    report = migrate(desk, 2)
    assert (report.result, report.deadlines) == ("migrated", [])  # verification keeps its 3 days
    assert report.decisions == {"set_deadlines": {"followup_days": [5, 3]}}
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    assert desk.task("respond").due_at == wib(2026, 12, 3)


def test_a_renamed_task_is_mapped_explicitly(desk: Desk, clock: time_machine.Coordinates) -> None:
    desk.submit()
    clock.move_to(wib(2026, 12, 4, 9, 0, 0))  # verification overdue: the desk's supervisor has a task
    assert desk.run_due() == 1
    overdue = desk.task("escalate_verification")
    files = shipped_bundle()
    files["complaint.bpmn"] = re.sub(r"\bescalate_verification\b", "handle_late_verification", files["complaint.bpmn"])
    deploy(desk, files)
    assert refused(desk, 2) == [  # without a mapping the step before it looks changed
        "'flag_verify_breach' (Flag overdue verification) has already run, and version 2 changes it (outputs)"
    ]
    with pytest.raises(migration.Refused) as error:
        migrate(desk, 2, mapping={"escalate_verification": "handle_it"})
    assert "the mapping names 'handle_it', which version 2 does not have" in error.value.report.reasons
    mapping = {"escalate_verification": "handle_late_verification"}
    report = migrate(desk, 2, mapping=mapping)
    assert report.result == "migrated"
    moved = desk.task("handle_late_verification")
    assert (moved.id, moved.due_at, moved.role) == (overdue.id, overdue.due_at, "supervisor")
    assert desk.events()[-1].data["mapping"] == mapping
    desk.do(VERIFIER_HEAD, "handle_late_verification", action="acknowledge")
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    finish(desk)
    assert desk.case.status == "closed"


def test_removing_an_element_the_case_waits_on_is_refused(desk: Desk, clock: object) -> None:
    desk.submit()
    bpmn = shipped_bundle()["complaint.bpmn"]
    for pattern in (
        r'\s*<bpmn:boundaryEvent id="verify_reminder".*?</bpmn:boundaryEvent>',
        r'\s*<bpmn:scriptTask id="remind_verifier".*?</bpmn:scriptTask>',
        r'\s*<bpmn:endEvent id="verify_reminder_end">.*?</bpmn:endEvent>',
        r'\s*<bpmn:sequenceFlow id="f_verify_reminder_\d"[^>]*/>',
        r"\s*<bpmn:flowNodeRef>(verify_reminder|remind_verifier|verify_reminder_end)</bpmn:flowNodeRef>",
    ):
        bpmn = re.sub(pattern, "", bpmn, flags=re.S)
    deploy(desk, {**shipped_bundle(), "complaint.bpmn": bpmn})
    assert refused(desk, 2) == [
        "the events attached to 'verify' were set up when it began, and version 2 changes them (outputs)",
        "'verify_reminder' (Reminder) is waiting, and version 2 removes it",
    ]


def test_finished_cases_the_current_version_and_unknown_versions_are_refused(desk: Desk, clock: object) -> None:
    desk.submit()
    assert refused(desk, 1) == ["the case is already on version 1"]
    with pytest.raises(NotFound):
        migrate(desk, 7)
    desk.do(VERIFIER, "verify", decision="reject", reason="Bukan pelayanan publik")
    deploy(desk, bundle_with("thank_reporter"))
    assert refused(desk, 2) == ["the case is archived; finished cases keep the version they ran on"]


def test_a_dry_run_reports_and_changes_nothing(desk: Desk, clock: object) -> None:
    desk.submit()
    deploy(desk, bundle_with("thank_reporter"))
    events = len(desk.events())
    assert migrate(desk, 2, dry_run=True).result == "migratable"
    assert (version_of(desk), len(desk.events())) == (1, events)


# Many cases at once ---------------------------------------------------------------------------------------


def test_bulk_migration_moves_each_safe_case_in_its_own_transaction_and_reports_the_others(
    desk: Desk, clock: object
) -> None:
    at_verify, in_follow_up, closed = Desk(desk.session), Desk(desk.session), Desk(desk.session)
    for case in (at_verify, in_follow_up, closed):
        case.submit()
    for case in (in_follow_up, closed):
        case.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    finish(closed)
    deploy(desk, bundle_with("thank_reporter"))  # version 2
    deploy(desk, {**bundle_with("thank_reporter"), **fixture("respond_3_days")})  # version 3
    on_three = Desk(desk.session)
    on_three.submit()
    processes.activate(desk._fresh(), "complaint", 2, "owner")
    desk.session.commit()

    report = lifecycle.migrate_cases(desk._fresh(), OWNER, "complaint", 2, dry_run=True)
    assert {r.tracking_id: r.result for r in report} == {
        at_verify.tracking_id: "migratable",
        in_follow_up.tracking_id: "migratable",
        on_three.tracking_id: "migratable",  # its deadline table goes back to version 2's
    }
    assert [version_of(c) for c in (at_verify, in_follow_up, on_three)] == [1, 1, 3]

    only_new = lifecycle.migrate_cases(desk._fresh(), OWNER, "complaint", 2, dry_run=False, statuses=["submitted"])
    assert {r.tracking_id: r.result for r in only_new} == {
        at_verify.tracking_id: "migrated",
        on_three.tracking_id: "migrated",
    }
    (back,) = [r for r in only_new if r.tracking_id == on_three.tracking_id]
    assert (back.from_version, back.decisions) == (3, {"set_deadlines": {"followup_days": [3, 5]}})
    assert [version_of(c) for c in (at_verify, in_follow_up, closed, on_three)] == [2, 1, 1, 2]
    open_tasks = desk._fresh().scalars(sa.select(tasks.TaskRecord).where(tasks.TaskRecord.state == "ready")).all()
    assert len(open_tasks) == 3  # nothing opened or cancelled by moving


# Carrying a policy change through pruned history ---------------------------------------------------------


def _loop(desk: Desk, clock: time_machine.Coordinates, day: int) -> None:
    """A final answer, then a reporter not satisfied on 2026-12-`day` (the follow-up reopens that day)."""
    desk.do(DLH, "respond", decision="respond", message="Sudah diangkut.", final=True)
    clock.move_to(wib(2026, 12, day, 9, 0, 0))
    desk.reply(message="Belum beres", satisfied=False)


def test_a_deadline_change_reaches_a_case_whose_decisions_were_pruned_from_its_state(
    desk: Desk, clock: time_machine.Coordinates
) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    _loop(desk, clock, 1)
    _loop(desk, clock, 2)  # reopened on Wednesday: 5 working days to the next follow-up
    assert desk.task("respond").due_at == wib(2026, 12, 9)
    wf = restore(desk)
    assert not [t for t in wf.get_tasks() if isinstance(t.task_spec, BusinessRuleTaskMixin)]  # pruned
    runs = serialization.recorded_runs(wf)[wf.spec.name]
    assert (runs["reclassify"]["data"]["followup_days"], runs["reopen"]["n"]) == (5, 2)  # what migration needs
    deploy(desk, bundle_with("respond_3_days"))
    report = migrate(desk, 2)
    assert report.decisions == {
        "reclassify": {"followup_days": [5, 3]},
        "set_deadlines": {"followup_days": [5, 3]},
    }
    respond = desk.task("respond")
    assert report.deadlines == [  # counted again from the last reopening, as if the tree were whole
        {
            "task": respond.id,
            "name": "respond",
            "from": wib(2026, 12, 9).isoformat(),
            "to": wib(2026, 12, 7).isoformat(),
        }
    ]
    finish(desk)
    assert desk.case.status == "closed"


def test_a_change_that_would_run_through_pruned_repetitions_is_refused(
    desk: Desk, clock: time_machine.Coordinates
) -> None:
    """`reopen` extends the completion deadline from its own previous value: a new completion limit would
    need every reopening, and the state keeps only the last one."""
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    files = shipped_bundle()
    longer = files["deadlines.dmn"].replace(
        '"deadlines_complaint_completion"><text>14</text>', '"deadlines_complaint_completion"><text>20</text>'
    )
    assert longer != files["deadlines.dmn"]
    deploy(desk, {**files, "deadlines.dmn": longer})
    _loop(desk, clock, 1)
    assert migrate(desk, 2, dry_run=True).result == "migratable"  # one reopening: its record is the whole story
    _loop(desk, clock, 2)
    assert refused(desk, 2) == [
        "'reopen' (Reopen follow-up) ran 2 times and reads completion_due, which the new table changes;"
        " the case's state keeps only its last run"
    ]
