"""A case stores its workflow without the spec, and restores to exactly the same state."""

from __future__ import annotations

import json
import random
import zlib
from typing import Any
from uuid import UUID

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.calendar.working_days import WorkingCalendar
from engine.processes import registry as processes
from engine.processes import serialization
from engine.processes.scripting import CaseEffects, script_engine
from tests.engine.conftest import DLH, VERIFIER, Desk
from tests.engine.processes.test_task_codec import stages


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
    assert case.serializer_version == serialization.SERIALIZER_VERSION and stored["aduan"] == 2
    wf = restore(desk)
    assert serialization.state_dict(wf) == serialization.converters_dict(stored)
    assert serialization.inflate(serialization.dump(wf)) == serialization.inflate(case.state)


def test_the_general_restore_path_with_stored_spec_dicts_gives_the_same_workflow(desk: Desk, clock: object) -> None:
    """Older state goes through SpiffWorkflow's migrations with the version's stored spec merged back in."""
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    case = desk.case
    version = desk.session.get_one(processes.ProcessVersion, case.process_version_id)
    engine = script_engine(WorkingCalendar(), CaseEffects())
    stored = serialization.converters_dict(json.loads(serialization.inflate(case.state)))
    wf = serialization.load_with_spec_dicts(stored, case.serializer_version, engine, version.spec)
    assert serialization.state_dict(wf) == serialization.converters_dict(json.loads(serialization.inflate(case.state)))
    assert [t.task_spec.name for t in wf.get_tasks(manual=True, state=TaskState.READY)] == ["respond"]


def test_state_is_compressed_with_the_shipped_dictionary_and_older_state_still_loads(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    case = desk.case
    assert case.state[1] & 0x20 and int.from_bytes(case.state[2:6], "big") == STATE_2  # FDICT, its Adler-32
    text = serialization.inflate(case.state)
    assert len(case.state) < 0.8 * len(zlib.compress(text, 1))  # what the dictionary is for
    version = desk.session.get_one(processes.ProcessVersion, case.process_version_id)
    parsed = processes.parsed_for(version)
    engine = script_engine(WorkingCalendar(), CaseEffects())
    plain = zlib.compress(text, 1)  # as written before dictionaries
    wf = serialization.load(plain, case.serializer_version, parsed.spec, parsed.subprocess_specs, engine)
    assert serialization.state_text(wf) == text
    with pytest.raises(ValueError, match="unknown dictionary"):
        serialization.inflate(case.state[:2] + (STATE_2 + 1).to_bytes(4, "big") + case.state[6:])


STATE_1 = 703584008  # Adler-32 of engine/processes/zdict/state-1.bin: a shipped dictionary never changes
STATE_2 = 3987242299  # …/state-2.bin (format 2 states, 1 December 2026): what new state is compressed with


def test_every_shipped_dictionary_is_unchanged() -> None:
    assert zlib.adler32(serialization.ZDICT) == STATE_2
    assert {STATE_1, STATE_2} <= set(serialization.ZDICTS)


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


def _reference_lowest(live: list[Any]) -> Any:
    paths = []
    for task in live:
        path = [task]
        while path[-1].parent is not None:
            path.append(path[-1].parent)
        paths.append(path)
    common = set.intersection(*({t.id for t in path} for path in paths))
    return next(t for t in paths[0] if t.id in common)


def _reference_cut(wf: Any) -> tuple[Any, set[UUID]]:
    """Where prune cuts, as it found it before (every live task's whole path to the root, intersected by
    id), and the ids of the tasks it keeps."""
    root = _reference_lowest([t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)])
    root = root.parent or root
    keep, stack = set(), [root]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    return root, keep


def test_prune_cuts_where_the_whole_path_intersection_does_at_every_stage() -> None:
    """`prune` walks up from each live task only until it meets the first one's path, and returns at once
    when the cut would be at the root: the same cut as intersecting every live task's whole path."""
    cut = 0
    for name, wf, parsed in stages():
        engine = script_engine(WorkingCalendar(), CaseEffects())
        blob = serialization.dump(wf)
        for _ in range(2):  # as the command left it, then once more (nothing left to cut)
            copy = serialization.load(
                blob, serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine
            )
            if not any(not t.has_state(TaskState.FINISHED_MASK) for t in copy.tasks.values()):
                assert serialization.prune(copy) == 0, name  # a finished workflow is left whole
                break
            root, keep = _reference_cut(copy)
            whole, cuts = set(copy.tasks), root is not copy.task_tree
            dropped = serialization.prune(copy)
            assert set(copy.tasks) == (keep if cuts else whole), name
            assert dropped == (len(whole) - len(keep) if cuts else 0), name
            assert copy.task_tree.parent is None
            cut += dropped > 0
            blob = serialization.dump(copy)
    assert cut >= 2  # the stages do cut


def test_the_lowest_common_ancestor_does_not_depend_on_which_live_task_comes_first() -> None:
    """Whichever live task the walk starts from (a leaf, the subprocess task above the others, …) and in
    whatever order the others meet its path, the meeting point is the intersection's lowest task."""
    shuffles = random.Random(14)
    for name, wf, _parsed in stages():
        live = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
        if len(live) < 2:
            continue
        lowest = _reference_lowest(live)
        deepest = max(live, key=lambda t: t.depth)
        assert deepest is not lowest, name  # so starting from it, the walk has to climb
        for order in [[deepest, *live], *(shuffles.sample(live, len(live)) for _ in range(20))]:
            assert serialization._lowest_common_ancestor(order, wf.tasks) is lowest, name


def test_script_names_are_parsed_once_per_text() -> None:
    serialization.script_names.cache_clear()
    reads, assigns = serialization.script_names("due = working_days(verify_days)")
    assert (reads, assigns) == ({"working_days", "verify_days"}, {"due"})
    assert serialization.script_names("due = working_days(verify_days)")[0] is reads
    assert serialization.script_names.cache_info().hits == 1
    assert serialization.script_names("due = (") == (frozenset(), frozenset())
