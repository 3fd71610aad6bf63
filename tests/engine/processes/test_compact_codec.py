"""Format 2 of a case's state: the same workflow as format 1 gives, in a third of the JSON; format 1 still loads."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.calendar.working_days import WorkingCalendar
from engine.processes import compact_codec, serialization
from engine.processes.scripting import CaseEffects, script_engine
from tests.engine.processes.test_task_codec import _tasks, reference_state_dict, stages

VERSION = serialization.SERIALIZER_VERSION
STATE_1 = (serialization.ZDICT_DIR / "state-1.bin").read_bytes()


def _engine() -> Any:
    return script_engine(WorkingCalendar(), CaseEffects())


def _load(blob: bytes, parsed: Any) -> BpmnWorkflow:
    return serialization.load(blob, VERSION, parsed.spec, parsed.subprocess_specs, _engine())


def format_1(wf: BpmnWorkflow) -> bytes:
    """What the release before format 2 stored: the converters' dicts, compressed with `state-1.bin`."""
    compressor = zlib.compressobj(1, zdict=STATE_1)
    text = orjson.dumps(serialization.state_dict(wf), option=orjson.OPT_NON_STR_KEYS)
    return compressor.compress(text) + compressor.flush()


def every_stage() -> Iterator[tuple[str, BpmnWorkflow, Any]]:
    """Each stage of the default lifecycle as it runs, and as a command leaves it (pruned: its root has a
    parent no longer in the tree)."""
    for name, wf, parsed in stages():
        yield name, wf, parsed
        pruned = _load(serialization.dump(wf), parsed)
        if serialization.prune(pruned):
            yield f"{name}, pruned", pruned, parsed


def _same(a: BpmnWorkflow, b: BpmnWorkflow, name: str) -> None:
    assert _tasks(a) == _tasks(b), name
    assert reference_state_dict(a) == reference_state_dict(b), name
    assert list(map(str, a.subprocesses)) == list(map(str, b.subprocesses)), name
    assert list(a.event_manager.tasks) == list(b.event_manager.tasks), name
    assert a.task_tree.id == b.task_tree.id, name
    ends = [(w.last_task.id if w.last_task else None, w.success, w.completed) for w in (a, b)]
    assert ends[0] == ends[1], name


def test_every_stage_restores_from_format_2_as_from_format_1() -> None:
    seen = []
    for name, wf, parsed in every_stage():
        seen.append(name)
        text = serialization.state_text(wf)
        assert orjson.loads(text)[compact_codec.KEY] == compact_codec.FORMAT, name
        _same(_load(serialization.dump(wf), parsed), _load(format_1(wf), parsed), name)
    assert "escalated, pruned" in seen and "closed" in seen and len(seen) >= 9, seen


def test_format_2_gives_back_the_converters_dicts() -> None:
    """`expand` (for SpiffWorkflow's migrations) gives exactly what format 1 wrote for the same workflow."""
    for name, wf, _parsed in every_stage():
        dct = orjson.loads(serialization.state_text(wf))
        theirs = orjson.loads(orjson.dumps(serialization.state_dict(wf), option=orjson.OPT_NON_STR_KEYS))
        assert serialization.converters_dict(dct) == theirs, name


def test_format_2_is_a_third_of_the_json_and_compresses_smaller() -> None:
    sizes = []
    for name, wf, _parsed in every_stage():
        compact = serialization.state_text(wf)
        converters = orjson.dumps(serialization.state_dict(wf), option=orjson.OPT_NON_STR_KEYS)
        assert len(compact) < 0.7 * len(converters), name  # a pruned state is mostly its root's data
        assert len(serialization.dump(wf)) < len(format_1(wf)), name
        sizes.append((len(compact), len(converters)))
    assert sum(c for c, _ in sizes) < 0.4 * sum(f for _, f in sizes)


def test_a_task_filed_under_another_id_is_written_in_format_1_and_loads() -> None:
    """Format 2 names each task by its key; a mapping whose key is not its task's id (not what SpiffWorkflow
    makes) is left to format 1, which keeps both."""
    name, wf, parsed = next(iter(stages()))
    key, task = next((k, t) for k, t in wf.tasks.items() if t is not wf.task_tree)
    task.id = UUID(int=key.int ^ 1)
    assert compact_codec.KEY not in orjson.loads(serialization.state_text(wf))
    _same(_load(serialization.dump(wf), parsed), _load(format_1(wf), parsed), name)


def test_a_child_stored_before_its_parent_is_written_in_format_1() -> None:
    name, wf, parsed = next(iter(stages()))
    first, *rest = list(wf.tasks.items())
    wf.tasks = dict([*rest, first])  # the root last: its children's data could not come from it
    assert compact_codec.compact(serialization._CODEC, wf) is None
    _same(_load(serialization.dump(wf), parsed), _load(format_1(wf), parsed), name)


def test_state_of_an_unknown_format_is_refused() -> None:
    _name, wf, parsed = next(iter(stages()))
    dct = orjson.loads(serialization.state_text(wf))
    dct[compact_codec.KEY] = 3
    with pytest.raises(ValueError, match="unknown format"):
        _load(zlib.compress(orjson.dumps(dct)), parsed)


def test_what_the_lifecycle_does_not_show_round_trips_too() -> None:
    """A task whose data differ from its parent's in a value only (the same keys), one whose data lost a
    key, and a triggered task."""
    name, wf, parsed = next((n, w, p) for n, w, p in stages() if n == "verified")
    ready = next(t for t in wf.tasks.values() if t.parent is not None and t.data and t.parent.data == t.data)
    ready.data["category"] = "parkir" if ready.data.get("category") != "parkir" else "kebersihan"
    other = next(t for t in wf.tasks.values() if t.parent is not None and len(t.data) > 1 and t is not ready)
    other.data.pop(next(iter(other.data)))
    other.triggered = True
    restored = _load(serialization.dump(wf), parsed)
    _same(restored, _load(format_1(wf), parsed), name)
    assert restored.tasks[ready.id].data == ready.data and restored.tasks[other.id].data == other.data
    assert restored.tasks[other.id].triggered
