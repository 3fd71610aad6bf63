"""A case stores its workflow without the spec, and restores to exactly the same state."""

from __future__ import annotations

import json
import zlib

from SpiffWorkflow.util.task import TaskState

from engine.calendar.working_days import WorkingCalendar
from engine.processes import registry as processes
from engine.processes import serialization
from engine.processes.scripting import CaseEffects, script_engine
from tests.engine.conftest import VERIFIER, Desk


def restore(desk: Desk):  # type: ignore[no-untyped-def]
    case = desk.case
    version = desk.session.get_one(processes.ProcessVersion, case.process_version_id)
    parsed = processes.parsed_for(version)
    engine = script_engine(WorkingCalendar(), CaseEffects())
    return serialization.load(case.state, case.serializer_version, parsed.spec, parsed.subprocess_specs, engine)


def test_stored_state_has_no_spec_and_round_trips_unchanged(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    case = desk.case
    stored = json.loads(zlib.decompress(case.state))
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert case.serializer_version == serialization.SERIALIZER_VERSION
    wf = restore(desk)
    assert serialization.state_dict(wf) == stored
    assert zlib.decompress(serialization.dump(wf)) == zlib.decompress(case.state)


def test_the_general_restore_path_with_stored_spec_dicts_gives_the_same_workflow(desk: Desk, clock: object) -> None:
    """Older state goes through SpiffWorkflow's migrations with the version's stored spec merged back in."""
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    case = desk.case
    version = desk.session.get_one(processes.ProcessVersion, case.process_version_id)
    engine = script_engine(WorkingCalendar(), CaseEffects())
    stored = json.loads(zlib.decompress(case.state))
    wf = serialization.load_with_spec_dicts(stored, case.serializer_version, engine, version.spec)
    assert serialization.state_dict(wf) == json.loads(zlib.decompress(case.state))
    assert [t.task_spec.name for t in wf.get_tasks(manual=True, state=TaskState.READY)] == ["respond"]
