"""The task-tree codec gives exactly what SpiffWorkflow's own converters give, and restores the same workflow."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.calendar.working_days import WorkingCalendar
from engine.cases import lifecycle
from engine.cases.lifecycle import REPLY_MESSAGE
from engine.processes import registry as processes
from engine.processes import serialization
from engine.processes.scripting import CaseEffects, script_engine
from engine.processes.serialization import _CONVERTER, REGISTRY
from engine.processes.task_codec import parse_uuid

START = {"kind": "complaint", "category": "kebersihan", "agency": None, "desk": "batam.diskominfo",
         "channel": "web", "anonymous": False, "confidential": False}  # fmt: skip


def reference_state_dict(wf: BpmnWorkflow) -> dict[str, Any]:
    """What SpiffWorkflow's converters give for the instance part (the code the codec replaces)."""
    dct: dict[str, Any] = WorkflowConverter.to_dict(_CONVERTER, wf)
    dct["subprocesses"] = _CONVERTER.mapping_to_dict(wf.subprocesses)
    dct["bpmn_events"] = REGISTRY.convert(wf.bpmn_events)
    return dct


def reference_load(dct: dict[str, Any], parsed: Any, engine: Any) -> BpmnWorkflow:
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine, deserializing=True)
    wf.tasks = _CONVERTER.mapping_from_dict(dct["tasks"], UUID, workflow=wf)
    wf.task_tree = wf.tasks.get(UUID(dct["root"]))
    _CONVERTER.set_default_attributes(wf, dct)
    _CONVERTER.subprocesses_from_dict(dct["subprocesses"], wf)
    wf.bpmn_events = REGISTRY.restore(dct.get("bpmn_events", []))
    return wf


def _complete(wf: BpmnWorkflow, name: str, **data: Any) -> None:
    task = wf.get_next_task(state=TaskState.READY, spec_name=name)
    task.data.update(data)
    task.run()
    wf.do_engine_steps()


def stages() -> Iterator[tuple[str, BpmnWorkflow, Any]]:
    """One workflow of the default lifecycle at each of its stages (timers, escalation subprocess, closure),
    with a UUID and a datetime in task data at one of them (values only the registry converts)."""
    parsed = processes.parse(processes.read_files(processes.DEFAULT_BPMN_DIR))
    engine = script_engine(WorkingCalendar(), CaseEffects())
    with time_machine.travel(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), tick=False):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.get_next_task(spec_name="Start").data.update(START)
        wf.do_engine_steps()
        yield "started", wf, parsed
        _complete(wf, "verify", decision="accept", agency="batam.dlh")
        yield "verified", wf, parsed
    with time_machine.travel(datetime(2026, 12, 7, 17, 30, tzinfo=UTC), tick=False):
        wf.refresh_timers()
        wf.do_engine_steps()
        yield "escalated", wf, parsed
        wf.get_next_task(state=TaskState.READY, spec_name="respond").data["typed"] = {
            "at": datetime(2026, 12, 7, tzinfo=UTC), "ref": uuid4(), "items": [1, "two", {"three": 3.0}]
        }  # fmt: skip
        yield "typed data", wf, parsed
        _complete(wf, "respond", decision="respond", message="Sudah.", final=True)
        yield "responded", wf, parsed
        wf.send_event(BpmnEvent(MessageEventDefinition(REPLY_MESSAGE), payload={"satisfied": True, "rating": 5}))
        wf.do_engine_steps()
        yield "closed", wf, parsed


def _tasks(wf: BpmnWorkflow) -> list[tuple[Any, ...]]:
    every = list(wf.tasks.values()) + [t for sp in wf.subprocesses.values() for t in sp.tasks.values()]
    return [
        (t.id, t._parent, t._children, t.state, t.task_spec.name, t.triggered, t.last_state_change, t.data,
         REGISTRY.convert(t.internal_data), t.workflow.spec.name)
        for t in every
    ]  # fmt: skip


def test_every_stage_dumps_the_same_bytes_and_restores_the_same_workflow() -> None:
    seen = []
    for name, wf, parsed in stages():
        seen.append(name)
        ours, theirs = serialization.state_dict(wf), reference_state_dict(wf)
        assert ours == theirs, name
        assert orjson.dumps(ours, option=orjson.OPT_NON_STR_KEYS) == orjson.dumps(
            theirs, option=orjson.OPT_NON_STR_KEYS
        ), name  # the same keys in the same order: byte for byte the same state
        engine = script_engine(WorkingCalendar(), CaseEffects())
        blob = serialization.dump(wf)
        fast = serialization.load(blob, serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine)
        slow = reference_load(serialization.converters_dict(orjson.loads(serialization.inflate(blob))), parsed, engine)
        assert _tasks(fast) == _tasks(slow), name
        assert reference_state_dict(fast) == reference_state_dict(slow), name
        again = orjson.dumps(reference_state_dict(fast), option=orjson.OPT_NON_STR_KEYS)
        assert again == orjson.dumps(theirs, option=orjson.OPT_NON_STR_KEYS), name  # typed data come back as text
        assert sorted(map(str, fast.subprocesses)) == sorted(map(str, slow.subprocesses)), name
        assert list(fast.event_manager.tasks) == list(slow.event_manager.tasks), name  # catching events, by id
        assert fast.last_task is not None and slow.last_task is not None
        assert (fast.last_task.id, fast.success, fast.completed) == (slow.last_task.id, slow.success, slow.completed)
    assert seen == ["started", "verified", "escalated", "typed data", "responded", "closed"]


@pytest.mark.parametrize("stage", ["escalated", "closed"])
def test_a_restored_workflow_runs_on_as_the_reference_one_does(stage: str) -> None:
    """Both restored copies take the next step alike (children's data are copies, not the parent's dicts)."""
    for name, wf, parsed in stages():
        if name != stage:
            continue
        blob = serialization.dump(wf)
        copies = []
        for restore in ("fast", "slow"):
            engine = script_engine(WorkingCalendar(), CaseEffects())
            if restore == "fast":
                spec, subs = parsed.spec, parsed.subprocess_specs
                copy = serialization.load(blob, serialization.SERIALIZER_VERSION, spec, subs, engine)
            else:
                copy = reference_load(
                    serialization.converters_dict(orjson.loads(serialization.inflate(blob))), parsed, engine
                )
            ready = copy.get_tasks(state=TaskState.READY, manual=True)
            for task in ready:
                task.data.setdefault("note", []).append(restore)  # must not leak into the parent's data
            copies.append(copy)
        assert reference_state_dict(copies[0]) != {}
        fast, slow = (reference_state_dict(c) for c in copies)
        assert orjson.dumps(fast).replace(b'"fast"', b'"slow"') == orjson.dumps(slow)


def test_the_flat_pass_over_a_restored_workflow_finds_what_the_tree_walk_finds() -> None:
    """`lifecycle._task_ids` reads the task dicts instead of walking the tree: the same ids at every stage."""
    for name, wf, parsed in stages():
        engine = script_engine(WorkingCalendar(), CaseEffects())
        blob = serialization.dump(wf)
        restored = serialization.load(
            blob, serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine
        )
        walked = restored.get_tasks(state=TaskState.COMPLETED | TaskState.READY)
        completed = {t.id for t in walked if t.state == TaskState.COMPLETED}
        ready = {str(t.id) for t in walked if t.state == TaskState.READY and t.task_spec.manual}
        assert lifecycle._task_ids(restored) == (completed, ready), name


def _share(wf: BpmnWorkflow) -> list[tuple[str, bool]]:
    """For each task below a parent, which of its data values are the parent's very objects (a one-level copy
    shares what is nested in a dict or list, never a top-level dict or list)."""
    out = []
    for flock in (wf.tasks, *(sp.tasks for sp in wf.subprocesses.values())):
        for task in flock.values():
            parent = flock.get(task._parent) if task._parent is not None else None
            if parent is None:
                continue
            for key, value in task.data.items():
                out.append((key, value is parent.data.get(key)))
                if isinstance(value, dict):
                    out.extend(
                        (f"{key}.{k}", v is parent.data[key].get(k)) for k, v in value.items() if key in parent.data
                    )
    return out


def test_restored_tasks_copy_their_parents_data_as_the_converters_do() -> None:
    """Dicts and lists at the top of a task's data are copies of its parent's (which keys hold one is
    carried down the tree instead of looked at per key); whatever they hold is shared, as DeepMerge shares it."""
    for name, wf, parsed in stages():
        every = [*wf.tasks.values(), *(t for sp in wf.subprocesses.values() for t in sp.tasks.values())]
        for i, task in enumerate(every):  # equal values in every task (deltas with no updates), one changed
            task.data.update(tags=["a"], place={"area": "Batam", "points": [1, 2]}, plain="text")
            if i == len(every) // 2:
                task.data["place"] = {"area": "Batam", "points": [1, 2, 3]}
        blob = serialization.dump(wf)
        engine = script_engine(WorkingCalendar(), CaseEffects())
        fast = serialization.load(blob, serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine)
        slow = reference_load(serialization.converters_dict(orjson.loads(serialization.inflate(blob))), parsed, engine)
        assert _share(fast) == _share(slow), name
        assert ("place.points", True) in _share(fast) and ("tags", False) in _share(fast), name
        for task in every:
            for key in ("tags", "place", "plain"):
                del task.data[key]


def test_a_restored_task_has_the_attributes_task_init_gives_in_its_order() -> None:
    """The codec builds a Task without calling Task.__init__: the same attribute names, in the same order."""
    for name, wf, parsed in stages():
        engine = script_engine(WorkingCalendar(), CaseEffects())
        blob = serialization.dump(wf)
        fast = serialization.load(blob, serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine)
        slow = reference_load(serialization.converters_dict(orjson.loads(serialization.inflate(blob))), parsed, engine)
        for mine, theirs in zip(fast.get_tasks(), slow.get_tasks(), strict=True):
            assert list(vars(mine)) == list(vars(theirs)), name
            assert _attributes(mine) == _attributes(theirs), name
        assert fast.tasks is not None and list(fast.tasks) == list(slow.tasks), name


def _attributes(task: Any) -> dict[str, Any]:
    found = {k: v for k, v in vars(task).items() if k != "workflow"}
    return {**found, "internal_data": REGISTRY.convert(found["internal_data"])}


def test_a_task_stored_under_another_key_is_restored_under_that_key() -> None:
    """A mapping whose key is not its task's id (not what SpiffWorkflow writes, but what `mapping_from_dict`
    reads as it is): the codec gives the converters' mapping, not the tasks' own registry of themselves."""
    name, wf, parsed = next(iter(stages()))
    dct = orjson.loads(orjson.dumps(serialization.state_dict(wf), option=orjson.OPT_NON_STR_KEYS))  # format 1
    key = next(k for k, t in dct["tasks"].items() if t["parent"] is not None)
    moved = str(uuid4())
    dct["tasks"] = {moved if k == key else k: t for k, t in dct["tasks"].items()}
    engine = script_engine(WorkingCalendar(), CaseEffects())
    blob = zlib.compress(orjson.dumps(dct))
    fast = serialization.load(blob, serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine)
    slow = reference_load(orjson.loads(orjson.dumps(dct)), parsed, engine)
    assert list(fast.tasks) == list(slow.tasks) and UUID(moved) in fast.tasks, name
    assert [t.id for t in fast.tasks.values()] == [t.id for t in slow.tasks.values()]


def test_a_value_unequal_to_itself_is_left_out_of_a_delta_and_restores_alike() -> None:
    """The one place the dump differs from the converters: a child whose data equal its parent's (==, which
    takes an object as equal to itself) stores no updates, where the converters would repeat a NaN the two
    share (NaN != NaN). The restored data are the same: the child's copy of the parent's (orjson writes
    NaN as null)."""
    name, wf, parsed = next(iter(stages()))
    wf.task_tree.data["score"] = float("nan")
    for task in wf.get_tasks():
        if task is not wf.task_tree:
            task.data["score"] = wf.task_tree.data["score"]
    ours, theirs = serialization.state_dict(wf), reference_state_dict(wf)
    assert ours != theirs
    engine = script_engine(WorkingCalendar(), CaseEffects())
    fast = serialization.load(
        serialization.dump(wf), serialization.SERIALIZER_VERSION, parsed.spec, parsed.subprocess_specs, engine
    )
    text = orjson.dumps(theirs, option=orjson.OPT_NON_STR_KEYS)
    slow = reference_load(orjson.loads(text), parsed, engine)
    assert _tasks(fast) == _tasks(slow), name


@pytest.mark.parametrize(
    "text",
    [
        "7e8d6417-a4b7-4532-bb44-b3c64cd8c64b",
        "7E8D6417-A4B7-4532-BB44-B3C64CD8C64B",
        "7e8d6417a4b74532bb44b3c64cd8c64b",
        "{7e8d6417-a4b7-4532-bb44-b3c64cd8c64b}",
        "urn:uuid:7e8d6417-a4b7-4532-bb44-b3c64cd8c64b",
        "7e8d6417_a4b7-4532-bb44-b3c64cd8c64",
        "+e8d6417-a4b7-4532-bb44-b3c64cd8c64b",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ],
)
def test_the_codec_parses_a_uuid_as_uuid_does(text: str) -> None:
    parsed = parse_uuid(text, {})
    assert type(parsed) is UUID and parsed == UUID(text) and str(parsed) == str(UUID(text))
    assert (parsed.int, parsed.is_safe, hash(parsed)) == (UUID(text).int, UUID(text).is_safe, hash(UUID(text)))


@pytest.mark.parametrize("text", ["", "7e8d6417-a4b7-4532-bb44-b3c64cd8c64", "7e8d6417-a4b7-4532-bb44-b3c64cd8c64g"])
def test_the_codec_refuses_what_uuid_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        UUID(text)
    with pytest.raises(ValueError):
        parse_uuid(text, {})
