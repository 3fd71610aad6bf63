"""Deploying, versioning and activating lifecycles and shared decisions (engine.processes.registry)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases import lifecycle
from engine.cases.case import Case
from engine.errors import InvalidProcess, NotFound
from engine.processes import registry as processes
from engine.settings import DEFAULT_SETTINGS
from tests.data import bundle_with, fixture, shipped_bundle
from tests.engine.cases.test_lifecycle import wib
from tests.engine.conftest import DLH, VERIFIER, Desk


def version_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(processes.ProcessVersion)) or 0


def proposed_agency(desk: Desk) -> object:
    """What the routing decision proposed for the desk's case (read from its workflow's verify task)."""
    session = desk._fresh()
    case = session.scalars(sa.select(Case).where(Case.tracking_id == desk.tracking_id)).one()
    run = lifecycle._restore(session, case, DEFAULT_SETTINGS)
    (verify,) = [t for t in run.wf.get_tasks() if t.task_spec.name == "verify"]
    return verify.data["proposed_agency"]


# The shipped default --------------------------------------------------------------------------------------


def test_the_shipped_folder_deploys_the_routing_decision_on_its_own_and_the_lifecycle(session: Session) -> None:
    complaint = processes.deploy_defaults(session)
    routing = processes.active_version(session, "route_category")
    assert routing is not None
    assert (routing.kind, routing.version, set(routing.source)) == ("decision", 1, {"routing.dmn"})
    assert (complaint.key, complaint.kind, complaint.version, complaint.active) == ("complaint", "process", 1, True)
    assert set(complaint.source) == set(shipped_bundle())
    assert "routing.dmn" not in complaint.source
    assert complaint.decisions == {"deadlines": "bundled", "route_category": "shared"}
    assert (complaint.deployed_by, complaint.changes) == ("system", None)
    assert processes.deploy_defaults(session).id == complaint.id


def test_deploying_the_same_files_again_changes_nothing(session: Session) -> None:
    first = processes.deploy_defaults(session)
    again = processes.deploy_files(session, dict(reversed(list(shipped_bundle().items()))), "owner")
    assert (again.version.id, again.created) == (first.id, False)
    assert version_count(session) == 2


def test_a_changed_file_is_the_next_active_version_with_who_when_and_what_changed(session: Session) -> None:
    first = processes.deploy_defaults(session)
    deployment = processes.deploy_files(session, bundle_with("respond_3_days"), "owner")
    second = deployment.version
    assert deployment.created
    assert (second.version, second.active, first.active, second.deployed_by) == (2, True, False, "owner")
    assert second.deployed_at is not None and second.activated_by == "owner"
    assert processes.active_version(session, "complaint") is second
    assert second.changes == {
        "against": 1,
        "files": {"added": [], "removed": [], "changed": ["deadlines.dmn"]},
        "elements": {
            "added": [],
            "removed": [],
            "changed": {"reclassify": ["decision_table"], "set_deadlines": ["decision_table"]},
        },
    }


def test_a_stored_version_restores_without_parsing(session: Session) -> None:
    version = processes.deploy_defaults(session)
    parsed = processes.restore(version)
    assert parsed.spec.name == "complaint"
    assert {t.name for t in processes.user_tasks(parsed)} >= {"verify", "respond"}
    assert parsed.decisions == {"deadlines": "bundled", "route_category": "shared"}


def test_versions_are_listed_per_key_with_the_active_one(session: Session) -> None:
    processes.deploy_defaults(session)
    processes.deploy(session, bundle_with("respond_3_days"), "owner")
    summaries = {s.key: s for s in processes.keys(session)}
    assert (summaries["complaint"].kind, summaries["complaint"].version, summaries["complaint"].versions) == (
        "process", 2, [1, 2],
    )  # fmt: skip
    assert (summaries["route_category"].kind, summaries["route_category"].version) == ("decision", 1)
    assert [v.version for v in processes.versions(session, "complaint")] == [1, 2]
    with pytest.raises(NotFound):
        processes.versions(session, "nothing")
    with pytest.raises(NotFound):
        processes.get_version(session, "complaint", 9)


# Versions and running cases -------------------------------------------------------------------------------


def test_a_shorter_response_deadline_reaches_new_cases_while_running_ones_keep_theirs_to_the_end(
    desk: Desk, clock: object
) -> None:
    old = Desk(desk.session)
    old.submit(category="kebersihan")
    processes.deploy(old._fresh(), bundle_with("respond_3_days"), "owner")
    old.session.commit()
    new = Desk(desk.session)
    new.submit(category="kebersihan")
    assert old.case.process_version_id != new.case.process_version_id
    for case in (old, new):
        case.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    assert old.task("respond").due_at == wib(2026, 12, 7)  # 5 working days from Monday, as when it started
    assert new.task("respond").due_at == wib(2026, 12, 3)  # 3 working days: the new version
    for case in (old, new):
        case.do(DLH, "respond", decision="respond", message="Beres")
        case.reply(message="Terima kasih", satisfied=True, rating=5)
        assert (case.case.status, case.case.close_reason) == ("closed", "satisfied")


def test_activating_an_earlier_version_rolls_back_for_new_cases(desk: Desk, clock: object) -> None:
    processes.deploy(desk.session, bundle_with("respond_3_days"), "owner")
    desk.session.commit()
    back = processes.activate(desk._fresh(), "complaint", 1, "owner")
    desk.session.commit()
    assert (back.version, back.active, back.activated_by) == (1, True, "owner")
    assert [v.active for v in processes.versions(desk._fresh(), "complaint")] == [True, False]
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    assert desk.task("respond").due_at == wib(2026, 12, 7)


# A routing change on its own ------------------------------------------------------------------------------


def test_a_routing_change_deployed_alone_routes_the_next_case_differently(desk: Desk, clock: object) -> None:
    before = Desk(desk.session)
    before.submit(category="kesehatan")
    assert proposed_agency(before) == "batam.dinkes"
    deployment = processes.deploy_files(before._fresh(), fixture("routing_puskesmas"), "owner")
    before.session.commit()
    routing = deployment.version
    assert (routing.key, routing.kind, routing.version) == ("route_category", "decision", 2)
    assert routing.changes is not None
    assert routing.changes["rules"] == {"added": [], "removed": [], "changed": ["route_kesehatan"]}
    assert processes.active_version(before._fresh(), "complaint").version == 1  # type: ignore[union-attr]
    after = Desk(desk.session)
    after.submit(category="kesehatan")
    assert proposed_agency(after) == "batam.dinkes.puskesmas-sekupang"
    assert after.case.process_version_id == before.case.process_version_id  # same lifecycle version
    processes.activate(after._fresh(), "route_category", 1, "owner")  # roll the routing back
    after.session.commit()
    again = Desk(desk.session)
    again.submit(category="kesehatan")
    assert proposed_agency(again) == "batam.dinkes"


def test_a_bundled_decision_is_fixed_for_its_version_whatever_is_deployed_alone(session: Session) -> None:
    processes.deploy_defaults(session)
    files = {**shipped_bundle(), "routing.dmn": fixture("routing_puskesmas")["routing.dmn"]}
    bundled = processes.deploy(session, files, "owner")
    assert bundled.decisions == {"deadlines": "bundled", "route_category": "bundled"}


def test_a_decision_that_would_break_the_lifecycles_using_it_is_refused(session: Session) -> None:
    processes.deploy_defaults(session)
    routing = processes.shared_files(processes.DEFAULT_BPMN_DIR)["routing.dmn"]
    renamed = routing.replace('name="proposed_agency"', 'name="suggested_agency"')
    with pytest.raises(InvalidProcess) as error:
        processes.deploy_files(session, {"routing.dmn": renamed}, "owner")
    (message,) = error.value.errors["routing.dmn"]
    assert message.startswith("with complaint version 1 (")
    assert "element 'register'" in message and "proposed_agency" in message
    assert version_count(session) == 2


def test_a_lifecycle_calling_a_decision_that_is_nowhere_is_refused(session: Session) -> None:
    with pytest.raises(InvalidProcess) as error:
        processes.deploy(session, shipped_bundle(), "owner")  # the routing decision was never deployed
    (message,) = error.value.errors["complaint.bpmn"]
    assert "element 'route'" in message
    assert "called decision 'route_category' is neither among the files nor deployed on its own" in message
    assert version_count(session) == 0


def test_decisions_come_one_file_at_a_time_and_keys_do_not_change_kind(session: Session) -> None:
    processes.deploy_defaults(session)
    with pytest.raises(InvalidProcess, match="one decision at a time"):
        processes.deploy_files(session, {"a.dmn": "<x/>", "b.dmn": "<y/>"}, "owner")
    routing = processes.shared_files(processes.DEFAULT_BPMN_DIR)["routing.dmn"]
    clash = routing.replace('<decision id="route_category"', '<decision id="complaint"')
    with pytest.raises(InvalidProcess) as error:
        processes.deploy_files(session, {"routing.dmn": clash}, "owner")
    assert "already used by a process" in error.value.errors["routing.dmn"][0]
    assert version_count(session) == 2


def test_a_version_deployed_without_activation_waits_and_says_what_activating_changes(session: Session) -> None:
    processes.deploy_defaults(session)
    waiting = processes.deploy_files(session, bundle_with("respond_3_days"), "owner", activate=False).version
    session.commit()
    assert (waiting.version, waiting.active, waiting.activated_by) == (2, False, None)
    assert processes.active_version(session, "complaint").version == 1  # type: ignore[union-attr]
    pending = processes.against_active(session, waiting)
    assert pending is not None and pending["against"] == 1
    assert pending["files"] == {"added": [], "removed": [], "changed": ["deadlines.dmn"]}
    table = pending["tables"]["deadlines.dmn"]
    assert table["rules"] == {"added": [], "removed": [], "changed": [
        "deadlines_aspiration", "deadlines_complaint", "deadlines_complaint_investigation", "deadlines_default",
        "deadlines_information_request",
    ]}  # fmt: skip
    assert {"rule": "deadlines_complaint", "column": "First follow-up", "from": "5", "to": "3"} in table["cells"]
    assert len(table["cells"]) == 5  # one cell a row: the first follow-up
    processes.activate(session, "complaint", 2, "owner")
    assert processes.against_active(session, waiting) is None


def test_the_shipped_process_deploys_on_another_citys_directory(session: Session) -> None:
    """Batam's sample routing table names agencies another city lacks: the service still starts, while an
    upload naming missing agencies is still refused (tests/engine/processes/test_validation.py)."""
    from engine.directory.agencies import Agency

    session.add(Agency(code="medan", name="Kota Medan", parent_code=None, desk=True))
    session.commit()
    version = processes.deploy_defaults(session)
    session.commit()
    assert (version.key, version.active) == ("complaint", True)
