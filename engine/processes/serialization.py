"""A case's workflow state without its spec, and back against cached spec objects.

SpiffWorkflow's serializer embeds the whole spec in every instance; a case stores only its task tree,
data and events (`serializer_version` beside it), compressed, and is rebuilt against the spec objects
its process version caches. State written by an older serializer is migrated through SpiffWorkflow's
own migrations with the stored spec dicts merged back in.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

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
    A finished workflow is left whole.
    """
    live = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    path = _ancestors(live[0])
    common = {t.id for t in path}
    for task in live[1:]:
        common &= {t.id for t in _ancestors(task)}
    lowest = next(t for t in path if t.id in common)
    root = lowest.parent or lowest  # a finished task above every live one: live tasks read their parent's data
    # a migration evaluates the last run of each decision again (and the scripts after it) when a new version
    # changes only its table: that run and what follows it stay in the tree
    seen: set[str] = set()
    for task in _ancestors(root):
        decision = isinstance(task.task_spec, BusinessRuleTaskMixin) and task.has_state(TaskState.COMPLETED)
        if decision and task.task_spec.name not in seen:
            seen.add(task.task_spec.name)
            root = task.parent or task
    if root is wf.task_tree:
        return 0
    keep = {t.id: t for t in _descendants(root)}
    history = ran_before_pruning(wf)
    _note(history, wf.spec.name, (t for t in wf.tasks.values() if t.id not in keep))
    dropped = len(wf.tasks) - len(keep)
    root._parent = None  # its data is stored in full from now on (a task's data is materialized in memory)
    wf.tasks, wf.task_tree = keep, root
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = None
    for sp in _drop_orphan_subprocesses(wf):
        _note(history, sp.spec.name, sp.tasks.values())
    root.internal_data[PRUNED] = {name: sorted(specs) for name, specs in history.items()}
    return dropped


PRUNED = "aduan.pruned"  # root task's internal data: {process or subprocess spec name: [task specs that ran]}


def ran_before_pruning(wf: BpmnWorkflow) -> dict[str, set[str]]:
    """Task specs that ran in the part of the tree `prune` dropped, by process spec name (for migration's
    checks: a step that has already run stays a step that has already run)."""
    stored = wf.task_tree.internal_data.get(PRUNED, {})
    return {name: set(specs) for name, specs in stored.items()}


def _note(history: dict[str, set[str]], process: str, tasks: Any) -> None:
    ran = {t.task_spec.name for t in tasks if t.has_state(TaskState.COMPLETED | TaskState.STARTED)}
    if ran:
        history.setdefault(process, set()).update(ran)


def _ancestors(task: Task) -> list[Task]:
    """`task`, its parent, …, up to the root (deepest first)."""
    out = [task]
    while task.parent is not None:
        task = task.parent
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
        present = set(wf.tasks)
        for sp in wf.subprocesses.values():
            present.update(sp.tasks)
        orphans = [key for key in wf.subprocesses if key not in present]
        if not orphans:
            return dropped
        dropped.extend(wf.subprocesses.pop(key) for key in orphans)


def dump(wf: BpmnWorkflow) -> bytes:
    """Compressed JSON of `state_dict(wf)`; what a case row stores."""
    # keep insertion order: task data is stored as deltas, restored parent before child
    dct = state_dict(wf)
    try:
        text = orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (an integer beyond 64 bits) the standard library still writes
        text = json.dumps(dct, separators=(",", ":")).encode()
    # level 1: a third of level 6's CPU for about 10 % more bytes (docs/performance.md)
    return zlib.compress(text, 1)


def load(
    blob: bytes,
    version: str,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    engine: PythonScriptEngine,
    spec_dicts: dict[str, Any] | None = None,
) -> BpmnWorkflow:
    """Rebuild a workflow from stored state; `spec_dicts` are needed only to migrate older state."""
    dct = orjson.loads(zlib.decompress(blob))
    if version != SERIALIZER_VERSION:
        if spec_dicts is None:
            raise ValueError(f"state of serializer version {version} needs the stored spec to migrate")
        return load_with_spec_dicts(dct, version, engine, spec_dicts)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine, deserializing=True)
    ids: dict[str, UUID] = {}
    wf.tasks = _CODEC.restore_tasks(dct["tasks"], wf, ids)
    wf.task_tree = wf.tasks.get(UUID(dct["root"]))
    _CODEC.set_default_attributes(wf, dct)
    _CODEC.restore_subprocesses(dct["subprocesses"], wf, wf, ids)
    wf.bpmn_events = REGISTRY.restore(dct.get("bpmn_events", []))
    return wf


def load_with_spec_dicts(
    dct: dict[str, Any], version: str, engine: PythonScriptEngine, spec_dicts: dict[str, Any]
) -> BpmnWorkflow:
    """The slow, general path: merge the stored spec dicts back in and let SpiffWorkflow migrate and restore."""
    full = {**dct, **spec_dicts, "typename": "BpmnWorkflow", SERIALIZER.VERSION_KEY: version}
    SERIALIZER.migrate(full)
    wf: BpmnWorkflow = SERIALIZER.from_dict(full)
    wf.script_engine = engine
    return wf
