"""A case's workflow state without its spec, and back against cached spec objects.

SpiffWorkflow's serializer embeds the whole spec in every instance; a case stores only its task tree,
data and events (`serializer_version` beside it), compressed, and is rebuilt against the spec objects
its process version caches. State written by an older serializer is migrated through SpiffWorkflow's
own migrations with the stored spec dicts merged back in.
"""

from __future__ import annotations

import ast
import copy
import json
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.processes import compact_codec
from engine.processes.task_codec import Codec

REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
SERIALIZER_VERSION = VERSION
_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, REGISTRY)
_CODEC = Codec(REGISTRY)  # the converters' task-tree walks, faster, same dicts (engine.processes.task_codec)


def state_dict(wf: BpmnWorkflow) -> dict[str, Any]:
    """The instance part of `wf` (tasks, data, subprocesses, pending events) without any spec."""
    dct = _CODEC.workflow_dict(wf)
    dct["subprocesses"] = _CODEC.subprocesses_dict(wf)
    dct["bpmn_events"] = REGISTRY.convert(wf.bpmn_events)
    return dct


def prune(wf: BpmnWorkflow) -> int:
    """Drop the finished history above the live part of the task tree; returns how many tasks went.

    The live tasks (neither completed nor cancelled) hang below one lowest common ancestor; its parent
    becomes the root, with its data in full, and everything above it (finished loop iterations, the
    completed subprocesses they ran) leaves the state. The audit chain keeps that history; SpiffWorkflow
    needs only the tree from the live part's common ancestor down (joins and boundary events look at
    their own split and parent, which are ancestors of live tasks, so below or at that ancestor).
    What a migration needs of the dropped part stays in the root: the names of the steps that ran
    (`ran_before_pruning`) and the last run of each decision and script (`recorded_runs`), so a decision
    whose table alone changed is evaluated again. A finished workflow is left whole.
    """
    tasks = wf.tasks
    live = [t for t in tasks.values() if not t._state & _FINISHED]
    if not live:
        return 0
    lowest = _lowest_common_ancestor(live, tasks)
    root = lowest.parent or lowest  # a finished task above every live one: live tasks read their parent's data
    if root is wf.task_tree:
        return 0  # nothing above the live part: the common case of a command that did not finish a loop
    kept = _descendants(root)
    keep = {t.id: t for t in kept}
    history, runs = ran_before_pruning(wf), recorded_runs(wf)
    within = set(kept)  # by identity: no UUID.__hash__ (Python) per task
    gone = [t for t in tasks.values() if t not in within]
    _note(history, wf.spec.name, gone)
    _record(runs, wf.spec.name, gone)  # before the tree is cut: a script's context is its parent's data
    dropped = len(wf.tasks) - len(keep)
    root._parent = None  # its data is stored in full from now on (a task's data is materialized in memory)
    wf.tasks, wf.task_tree = keep, root
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = None
    for sp in _drop_orphan_subprocesses(wf):
        _note(history, sp.spec.name, sp.tasks.values())
        _record(runs, sp.spec.name, sp.tasks.values())
    root.internal_data[PRUNED] = {name: sorted(specs) for name, specs in history.items()}
    if runs:
        root.internal_data[RUNS] = runs
    return dropped


_FINISHED = TaskState.FINISHED_MASK


def _lowest_common_ancestor(live: list[Task], tasks: dict[UUID, Task]) -> Task:
    """The deepest task that is `live[0]` or an ancestor of it and an ancestor (or self) of every live task.

    One walk from the first up to the root; every other walks up only until it meets that path (tasks are
    compared by identity, a C-level hash, not by their UUIDs). Should a task's ancestors never meet it (no
    common root: not a tree SpiffWorkflow builds) the root of the first is the answer, so nothing is cut."""
    path = _ancestors(live[0])
    depth = {task: i for i, task in enumerate(path)}  # 0: the first live task itself, up to its root
    highest = 0
    for task in live[1:]:
        found: Task | None = task
        while found is not None:
            i = depth.get(found)
            if i is not None:
                highest = max(highest, i)
                break
            found = tasks.get(found._parent) if found._parent is not None else None
        else:
            return path[-1]
    return path[highest]


PRUNED = "aduan.pruned"  # root task's internal data: {process or subprocess spec name: [task specs that ran]}
RUNS = "aduan.runs"  # root task's internal data: {process spec name: {task spec name: Recorded run}}
# A recorded run: {"t": when it finished, "n": runs dropped so far (only the last is kept), "data": a
# decision's whole data / the values a script assigned, "context": what a script read (its parent's data)}


def ran_before_pruning(wf: BpmnWorkflow) -> dict[str, set[str]]:
    """Task specs that ran in the part of the tree `prune` dropped, by process spec name (for migration's
    checks: a step that has already run stays a step that has already run)."""
    stored = wf.task_tree.internal_data.get(PRUNED, {})
    return {name: set(specs) for name, specs in stored.items()}


def recorded_runs(wf: BpmnWorkflow) -> dict[str, dict[str, dict[str, Any]]]:
    """The last run of each decision and script that `prune` dropped, by process and task spec name."""
    stored = wf.task_tree.internal_data.get(RUNS, {})
    return {process: dict(specs) for process, specs in stored.items()}


def _record(runs: dict[str, dict[str, dict[str, Any]]], process: str, tasks: Iterable[Task]) -> None:
    """Keep the last completed run of each decision and script among `tasks` (and count the runs)."""
    for task in tasks:
        entry = _run_of(task) if task.has_state(TaskState.COMPLETED) else None
        if entry is None:
            continue
        specs = runs.setdefault(process, {})
        previous = specs.get(task.task_spec.name)
        count = 1 + (previous["n"] if previous else 0)
        if previous is None or previous["t"] <= entry["t"]:
            specs[task.task_spec.name] = {**entry, "n": count}
        else:
            previous["n"] = count


def _run_of(task: Task) -> dict[str, Any] | None:
    spec = task.task_spec
    if isinstance(spec, BusinessRuleTaskMixin):  # evaluated again with the same data: all of it
        return {"t": task.last_state_change, "data": copy.deepcopy(task.data)}
    if isinstance(spec, ScriptTask):  # re-run with what it read, compared with what it assigned
        reads, assigns = script_names(spec.script or "")
        before = task.parent.data if task.parent is not None else {}
        return {
            "t": task.last_state_change,
            "context": {name: copy.deepcopy(before[name]) for name in sorted(reads) if name in before},
            "data": {name: copy.deepcopy(task.data[name]) for name in sorted(assigns) if name in task.data},
        }
    return None


@lru_cache(maxsize=4096)
def script_names(script: str) -> tuple[frozenset[str], frozenset[str]]:
    """The names a script reads and the names it assigns (both empty when it does not parse); parsed once
    per text (a diagram's scripts are few, `prune` asks for them on every cut)."""
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return frozenset(), frozenset()
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    reads = frozenset(n.id for n in names if isinstance(n.ctx, ast.Load))
    return reads, frozenset(n.id for n in names if isinstance(n.ctx, ast.Store))


def _note(history: dict[str, set[str]], process: str, tasks: Any) -> None:
    ran = {t.task_spec.name for t in tasks if t.has_state(TaskState.COMPLETED | TaskState.STARTED)}
    if ran:
        history.setdefault(process, set()).update(ran)


def _ancestors(task: Task) -> list[Task]:
    """`task`, its parent, …, up to the root (deepest first)."""
    out, tasks = [task], task.workflow.tasks
    while task._parent is not None and (parent := tasks.get(task._parent)) is not None:
        task = parent
        out.append(task)
    return out


def _descendants(task: Task) -> list[Task]:
    out, stack = [], [task]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(current.children)
    return out


def _drop_orphan_subprocesses(wf: BpmnWorkflow) -> list[Any]:
    """Drop the subprocess workflows whose starting task left the tree (a nested one goes with its parent);
    returns them."""
    dropped: list[Any] = []
    while True:
        flocks = [wf.tasks, *(sp.tasks for sp in wf.subprocesses.values())]
        orphans = [key for key in wf.subprocesses if not any(key in flock for flock in flocks)]
        if not orphans:
            return dropped
        dropped.extend(wf.subprocesses.pop(key) for key in orphans)


def state_text(wf: BpmnWorkflow) -> bytes:
    """The JSON a case stores, before compression: format 2 (`engine.processes.compact_codec`), or the
    converters' dicts (`state_dict`, format 1) for a workflow format 2 does not write."""
    # keep insertion order: task data is stored as deltas, restored parent before child
    dct = compact_codec.compact(_CODEC, wf) or state_dict(wf)
    try:
        return orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (an integer beyond 64 bits) the standard library still writes
        return json.dumps(dct, separators=(",", ":")).encode()


def dump(wf: BpmnWorkflow) -> bytes:
    """Compressed JSON of `state_dict(wf)`; what a case row stores."""
    # level 1: a third of level 6's CPU for about 10 % more bytes (docs/performance.md); the preset
    # dictionary (states of the default lifecycle) takes a closed case's state from 1.5 KB to about 0.6 KB;
    # a copy of the primed compressor gives the same bytes as a new one without setting the dictionary again
    compressor = _PRIMED.copy()
    return compressor.compress(state_text(wf)) + compressor.flush()


def inflate(blob: bytes) -> bytes:
    """The JSON a stored state holds: compressed with the dictionary its zlib header names, or without one
    (state written before dictionaries)."""
    if len(blob) >= 6 and blob[1] & 0x20:  # FDICT: the dictionary's Adler-32 follows the two header bytes
        zdict = ZDICTS.get(int.from_bytes(blob[2:6], "big"))
        if zdict is None:
            raise ValueError("state compressed with an unknown dictionary")
        decompressor = zlib.decompressobj(zdict=zdict)
        return decompressor.decompress(blob) + decompressor.flush()
    return zlib.decompress(blob)


ZDICT_DIR = Path(__file__).parent / "zdict"


def _dictionaries() -> dict[int, bytes]:
    """Every preset dictionary ever shipped, by Adler-32 (`bench/state_dictionary.py` builds one; a shipped
    file is never changed, or the states compressed with it could not be read)."""
    files = sorted(ZDICT_DIR.glob("*.bin"))
    return {zlib.adler32(data): data for data in (f.read_bytes() for f in files)}


ZDICTS = _dictionaries()
ZDICT = (ZDICT_DIR / "state-2.bin").read_bytes()  # what new state is compressed with (format 2 states)
_PRIMED = zlib.compressobj(1, zdict=ZDICT)  # never used itself: `dump` compresses with a copy (~30 µs less)


def load(
    blob: bytes,
    version: str,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    engine: PythonScriptEngine,
    spec_dicts: dict[str, Any] | None = None,
) -> BpmnWorkflow:
    """Rebuild a workflow from stored state (either format); `spec_dicts` are needed only to migrate state
    written by an older SpiffWorkflow serializer."""
    dct = orjson.loads(inflate(blob))
    stored_format = dct.get(compact_codec.KEY, 1)
    if stored_format not in (1, compact_codec.FORMAT):
        raise ValueError("state of an unknown format")
    if version != SERIALIZER_VERSION:
        if spec_dicts is None:
            raise ValueError(f"state of serializer version {version} needs the stored spec to migrate")
        return load_with_spec_dicts(converters_dict(dct), version, engine, spec_dicts)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine, deserializing=True)
    if stored_format == compact_codec.FORMAT:
        compact_codec.restore(_CODEC, dct, wf)
        return wf
    ids: dict[str, UUID] = {}
    wf.tasks = _CODEC.restore_tasks(dct["tasks"], wf, ids)
    wf.task_tree = wf.tasks.get(UUID(dct["root"]))
    _CODEC.set_default_attributes(wf, dct)
    _CODEC.restore_subprocesses(dct["subprocesses"], wf, wf, ids)
    wf.bpmn_events = REGISTRY.restore(dct.get("bpmn_events", []))
    return wf


def converters_dict(dct: dict[str, Any]) -> dict[str, Any]:
    """A stored state's dict as SpiffWorkflow's converters write it (format 1), whichever format it is in."""
    if dct.get(compact_codec.KEY) == compact_codec.FORMAT:
        return compact_codec.expand(dct, _CODEC.task_typename, _CODEC.sub_typename)
    return dct


def load_with_spec_dicts(
    dct: dict[str, Any], version: str, engine: PythonScriptEngine, spec_dicts: dict[str, Any]
) -> BpmnWorkflow:
    """The slow, general path: merge the stored spec dicts back in and let SpiffWorkflow migrate and restore."""
    full = {**dct, **spec_dicts, "typename": "BpmnWorkflow", SERIALIZER.VERSION_KEY: version}
    SERIALIZER.migrate(full)
    wf: BpmnWorkflow = SERIALIZER.from_dict(full)
    wf.script_engine = engine
    return wf
