"""A case stores its workflow without the spec, and restores to exactly the same state."""

from __future__ import annotations

import json
import zlib

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.calendar.working_days import WorkingCalendar
from engine.processes import registry as processes
from engine.processes import serialization
from engine.processes.scripting import CaseEffects, script_engine
from tests.engine.conftest import DLH, VERIFIER, Desk


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
    stored = json.loads(serialization.inflate(case.state))
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert case.serializer_version == serialization.SERIALIZER_VERSION
    wf = restore(desk)
    assert serialization.state_dict(wf) == stored
    assert serialization.inflate(serialization.dump(wf)) == serialization.inflate(case.state)


def test_the_general_restore_path_with_stored_spec_dicts_gives_the_same_workflow(desk: Desk, clock: object) -> None:
    """Older state goes through SpiffWorkflow's migrations with the version's stored spec merged back in."""
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    case = desk.case
    version = desk.session.get_one(processes.ProcessVersion, case.process_version_id)
    engine = script_engine(WorkingCalendar(), CaseEffects())
    stored = json.loads(serialization.inflate(case.state))
    wf = serialization.load_with_spec_dicts(stored, case.serializer_version, engine, version.spec)
    assert serialization.state_dict(wf) == json.loads(serialization.inflate(case.state))
    assert [t.task_spec.name for t in wf.get_tasks(manual=True, state=TaskState.READY)] == ["respond"]


def test_state_is_compressed_with_the_shipped_dictionary_and_older_state_still_loads(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    case = desk.case
    assert case.state[1] & 0x20 and int.from_bytes(case.state[2:6], "big") == STATE_1  # FDICT, its Adler-32
    text = serialization.inflate(case.state)
    assert len(case.state) < 0.8 * len(zlib.compress(text, 1))  # what the dictionary is for
    version = desk.session.get_one(processes.ProcessVersion, case.process_version_id)
    parsed = processes.parsed_for(version)
    engine = script_engine(WorkingCalendar(), CaseEffects())
    plain = zlib.compress(text, 1)  # as written before dictionaries
    wf = serialization.load(plain, case.serializer_version, parsed.spec, parsed.subprocess_specs, engine)
    assert serialization.state_text(wf) == text
    with pytest.raises(ValueError, match="unknown dictionary"):
        serialization.inflate(case.state[:2] + (STATE_1 + 1).to_bytes(4, "big") + case.state[6:])


STATE_1 = 703584008  # Adler-32 of engine/processes/zdict/state-1.bin: a shipped dictionary never changes


def test_every_shipped_dictionary_is_unchanged() -> None:
    assert zlib.adler32(serialization.ZDICT) == STATE_1
    assert STATE_1 in serialization.ZDICTS


def test_dump_copies_a_primed_compressor_and_writes_what_a_new_one_writes(desk: Desk, clock: object) -> None:
    """`dump` compresses with a copy of one compressor that has the dictionary set: the same bytes as a fresh
    `compressobj(1, zdict=ZDICT)` for every state, however many states went through copies before."""
    desk.submit()
    wf = restore(desk)
    for _ in range(3):
        fresh = zlib.compressobj(1, zdict=serialization.ZDICT)
        assert serialization.dump(wf) == fresh.compress(serialization.state_text(wf)) + fresh.flush()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    wf = restore(desk)
    fresh = zlib.compressobj(1, zdict=serialization.ZDICT)
    assert serialization.dump(wf) == fresh.compress(serialization.state_text(wf)) + fresh.flush()
    assert serialization.dump(wf) == desk.case.state


def _not_satisfied_loop(desk: Desk) -> None:
    desk.do(DLH, "respond", decision="respond", message="Sudah diangkut.", final=True)
    desk.reply(message="Belum beres", satisfied=False)


def test_a_case_state_stays_flat_over_many_clarification_loops(desk: Desk, clock: object) -> None:
    """Finished loop iterations leave the stored state (the audit chain keeps them)."""
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    _not_satisfied_loop(desk)
    after_one, tasks_after_one = len(desk.case.state), len(restore(desk).tasks)
    for _ in range(9):
        _not_satisfied_loop(desk)
    assert len(restore(desk).tasks) <= tasks_after_one
    assert len(desk.case.state) <= 1.2 * after_one
    assert [e.type for e in desk.events()].count("reporter_replied") == 10  # history is in the trail
    assert set(desk.open_tasks()) == {"respond"}  # and the case carries on
    _not_satisfied_loop(desk)
    desk.do(DLH, "respond", decision="respond", message="Selesai.", final=True)
    desk.reply(message="Terima kasih", satisfied=True, rating=4)
    assert desk.case.status == "closed"


def test_pruning_keeps_the_live_part_and_notes_what_ran(desk: Desk, clock: object) -> None:
    desk.submit()
    wf = restore(desk)
    assert wf.task_tree.parent is None
    ran = serialization.ran_before_pruning(wf)
    assert "set_deadlines" in ran[wf.spec.name]  # dropped from the tree, still known to have run
    assert [t.task_spec.name for t in wf.get_tasks(manual=True, state=TaskState.READY)] == ["verify"]
