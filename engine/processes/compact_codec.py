"""A case's task trees as stored since format 2: what the converters' dicts hold, in fewer bytes and less Python.

`engine.processes.task_codec` writes exactly SpiffWorkflow's converter dicts (format 1): every task a dict of
eleven keys, its id, its parent's and each child's as 36-character text, and the typename, empty data and
empty delta repeated in each. Format 2 keeps the same facts positionally. One workflow (the case's, or one
of its subprocesses) is

    {"ids": "<every task id: 32 hex digits each, one string>", "tasks": [row, ...], "root": <row index>,
     "data": ..., "correlations": ..., "last_task": "<hex>" | null, "success": ..., "completed": ...}

its rows in the order of its `tasks` mapping, each

    [parent, state, task spec name, last state change, triggered (0/1), [children], internal data | 0, data]

where the parent and each child are row indexes (-1: no parent; a hex id when not in this workflow), and the
data are in full for a task whose parent is not an earlier row, else its change from its parent's: 0 (none),
1 (nothing left: an end of a subprocess) or [updates, deletions] as the converters' delta. Restored, a
workflow is the one format 1 restores (same ids, tree, states, data, events:
`tests/engine/processes/test_compact_codec.py`), for about two thirds of its CPU; written, for about
three fifths, in a third of the JSON.

A workflow the fast path does not know (a task or subprocess of another class, a task filed under an id
that is not its own, a child before its parent) is written in format 1 by the caller (`compact` is None).
`expand` gives the format 1 dicts of a format 2 state (for SpiffWorkflow's migrations and the tests).
"""

from __future__ import annotations

from copy import copy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.processes.task_codec import MUTABLE, Codec, parse_uuid

FORMAT = 2
KEY = "aduan"  # the top-level key naming the format (absent in format 1, SpiffWorkflow's own)
SAME, EMPTIED = 0, 1  # a row's data: none changed from its parent's / nothing left
_new = object.__new__
_WAITING = TaskState.WAITING


class Unknown(Exception):
    """A workflow holds something format 2 does not write (the caller writes format 1)."""


# write ------------------------------------------------------------------------------------------------


def compact(codec: Codec, wf: Any) -> dict[str, Any] | None:
    """The format 2 dict of a top workflow and its subprocesses (None: write it in format 1)."""
    try:
        dct = {KEY: FORMAT, **_workflow(codec, wf)}
        subprocesses = {}
        for key, sp in wf.subprocesses.items():
            if type(sp) is not BpmnSubWorkflow:
                return None
            sub = _workflow(codec, sp)
            sub["spec"], sub["parent_task_id"] = sp.spec.name, sp.parent_task_id.hex
            subprocesses[key.hex] = sub
    except Unknown:
        return None
    dct["subprocesses"] = subprocesses
    dct["bpmn_events"] = codec.registry.convert(wf.bpmn_events)
    return dct


def _workflow(codec: Codec, wf: Any) -> dict[str, Any]:
    tasks: dict[UUID, Task] = wf.tasks
    index = {id(key): i for i, key in enumerate(tasks)}  # by the identity of the key objects (see task_codec)
    rows, convert = [], codec.convert
    for i, (key, task) in enumerate(tasks.items()):
        if type(task) is not Task or (task.id is not key and task.id != key):
            raise Unknown
        parent_id = task._parent
        p = -1 if parent_id is None else index.get(id(parent_id), -2)
        if p == -2:  # an equal, not identical, key (or a parent outside this workflow)
            p = _position(tasks, parent_id)
        if p >= i:
            raise Unknown  # a child before its parent: its data could not be restored from its parent's
        data: Any  # as format 1 writes task data: the values as they are (orjson writes a datetime or UUID
        if p < 0:  # as text, which is what a restore then gives back, in either format)
            data = task.data
        else:
            mine, theirs = task.data, tasks[parent_id].data
            if mine == theirs:
                data = SAME
            elif not mine:
                data = EMPTIED
            else:
                updates = {k: v for k, v in mine.items() if k not in theirs or v != theirs[k]}
                data = [updates, [k for k in theirs if k not in mine]]
        internal = task.internal_data
        rows.append([
            p if p >= -1 else parent_id.hex, task._state, task.task_spec.name, task.last_state_change,
            1 if task.triggered else 0,
            [index[id(c)] if id(c) in index else _position(tasks, c, c.hex) for c in task._children],
            0 if type(internal) is dict and not internal else convert(internal), data,
        ])  # fmt: skip
    root = index.get(id(wf.task_tree.id))
    if root is None:
        root = _position(tasks, wf.task_tree.id, None)
        if root is None:
            raise Unknown
    return {
        "ids": "".join(key.hex for key in tasks),
        "tasks": rows,
        "root": root,
        "data": convert(codec.registry.clean(wf.data)),
        "correlations": wf.correlations,
        "last_task": wf.last_task.id.hex if wf.last_task is not None else None,
        "success": wf.success,
        "completed": wf.completed,
    }


def _position(tasks: dict[UUID, Task], task_id: UUID, outside: Any = -3) -> Any:
    """The row of `task_id` looked up by equality (rare: keys are the tasks' own id objects), else `outside`
    (-3 for a parent: written as its hex id)."""
    for i, key in enumerate(tasks):
        if key == task_id:
            return i
    return outside


# read -------------------------------------------------------------------------------------------------


def restore(codec: Codec, dct: dict[str, Any], wf: Any) -> None:
    """Fill a new (deserializing) top workflow from its format 2 dict."""
    ids: dict[str, UUID] = {}
    _restore_workflow(codec, dct, wf, wf, ids)
    _restore_subprocesses(codec, dct["subprocesses"], wf, wf, ids)
    wf.bpmn_events = codec.registry.restore(dct.get("bpmn_events", []))


def _restore_workflow(codec: Codec, dct: dict[str, Any], wf: Any, top: Any, ids: dict[str, UUID]) -> None:
    text, rows = dct["ids"], dct["tasks"]
    own = [parse_uuid(text[i * 32 : i * 32 + 32], ids) for i in range(len(rows))]
    specs, tasks, events = wf.spec.task_specs, wf.tasks, top.event_manager
    restore = codec.restore
    built: list[Task] = []
    mutable: list[Any] = []  # per row: which keys of its data hold a dict, list or set
    for i, (p, state, name, changed, triggered, children, internal, data) in enumerate(rows):
        task_id, spec = own[i], specs.get(name)
        parent = built[p] if type(p) is int and p >= 0 else None
        parent_id = parent.id if parent is not None else (None if p == -1 else parse_uuid(p, ids))
        kids = [own[c] if type(c) is int else parse_uuid(c, ids) for c in children]
        if spec is None:  # Task's own default (a StartTask of the workflow's spec), as format 1 restores it
            task = Task(wf, None, state=state, id=task_id)
            task._parent, task._children, task.last_state_change = parent_id, kids, changed
        else:  # what Task.__init__ sets, without its parent lookup and clock read (see task_codec)
            task = _new(Task)
            task.__dict__ = {
                "id": task_id, "workflow": wf, "_parent": parent_id, "_children": kids, "_state": state,
                "triggered": False, "task_spec": spec, "thread_id": Task.thread_id_pool, "data": {},
                "internal_data": {}, "last_state_change": changed,
            }  # fmt: skip
            tasks[task_id] = task
        task.triggered = triggered == 1
        task.internal_data = {} if internal == 0 else restore(internal)
        if state & _WAITING and isinstance(task.task_spec, CatchingEvent):
            events.add_task(task)
        task.data, keys = _data(codec, parent, mutable[p] if parent is not None else None, data)
        built.append(task)
        mutable.append(keys)
    wf.task_tree = built[dct["root"]]
    wf.success, wf.completed = dct["success"], dct.get("completed", False)
    wf.correlations = dct.get("correlations", {})
    wf.last_task = tasks.get(parse_uuid(dct["last_task"], ids)) if isinstance(dct.get("last_task"), str) else None
    wf.data = restore(dct.get("data", {}))


def _data(codec: Codec, parent: Task | None, known: Any, data: Any) -> tuple[dict[str, Any], Any]:
    """A task's data from its row, and which of its keys hold a dict, list or set (for its children's copies):
    format 1's `_data` (a copy of the parent's with each such value copied again, updated, less deletions)."""
    if parent is None:
        full = codec.restore(data)
        return full, {k for k, v in full.items() if isinstance(v, MUTABLE)}
    if data == EMPTIED:
        return {}, frozenset()
    out = dict(parent.data)
    for key in known:
        out[key] = copy(out[key])
    if data == SAME:
        return out, known
    updates, deletions = data
    return out, codec.apply_delta(out, known, updates, deletions)


def _restore_subprocesses(codec: Codec, dct: dict[str, Any], wf: Any, top: Any, ids: dict[str, UUID]) -> None:
    """Each subprocess whose task is in `wf`, then the ones below it (format 1's order)."""
    if not dct:
        return
    for task in list(wf.tasks.values()):
        if not isinstance(task.task_spec, SubWorkflowTask) or task.id.hex not in dct:
            continue
        item = dct.pop(task.id.hex)
        sp = BpmnSubWorkflow(top.subprocess_specs.get(task.task_spec.spec), task.id, top, deserializing=True)
        _restore_workflow(codec, item, sp, top, ids)
        top.subprocesses[task.id] = sp
        sp.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
        _restore_subprocesses(codec, dct, sp, top, ids)


# format 1 from format 2 -------------------------------------------------------------------------------


def expand(dct: dict[str, Any], task_typename: str, sub_typename: str) -> dict[str, Any]:
    """The converters' dict (format 1) a format 2 dict was written from."""
    out = _expand_workflow(dct, task_typename)
    out["subprocesses"] = {
        str(UUID(key)): {
            **_expand_workflow(sub, task_typename),
            "parent_task_id": str(UUID(sub["parent_task_id"])),
            "spec": sub["spec"],
            "typename": sub_typename,
        }
        for key, sub in dct["subprocesses"].items()
    }
    out["bpmn_events"] = dct.get("bpmn_events", [])
    return out


def _expand_workflow(dct: dict[str, Any], typename: str) -> dict[str, Any]:
    text, rows = dct["ids"], dct["tasks"]
    own = [str(UUID(text[i * 32 : i * 32 + 32])) for i in range(len(rows))]
    full: list[dict[str, Any]] = []
    tasks = {}
    for i, (p, state, name, changed, triggered, children, internal, data) in enumerate(rows):
        delta: dict[str, Any]
        if type(p) is int and p >= 0:
            theirs = full[p]
            if data == SAME:
                mine, delta = dict(theirs), {"updates": {}, "deletions": []}
            elif data == EMPTIED:
                mine, delta = {}, {"updates": {}, "deletions": list(theirs)}
            else:
                updates, deletions = data
                mine = {k: v for k, v in theirs.items() if k not in deletions}
                mine.update(updates)
                delta = {"updates": updates, "deletions": deletions}
            stored: dict[str, Any] = {}
        else:
            mine, stored, delta = data, data, {}
        full.append(mine)
        tasks[own[i]] = {
            "id": own[i],
            "parent": None if p == -1 else own[p] if type(p) is int else str(UUID(p)),
            "children": [own[c] if type(c) is int else str(UUID(c)) for c in children],
            "last_state_change": changed,
            "state": state,
            "task_spec": name,
            "triggered": triggered == 1,
            "internal_data": {} if internal == 0 else internal,
            "data": stored,
            "delta": delta,
            "typename": typename,
        }
    last = dct.get("last_task")
    return {
        "data": dct.get("data", {}),
        "correlations": dct.get("correlations", {}),
        "last_task": str(UUID(last)) if isinstance(last, str) else None,
        "success": dct["success"],
        "completed": dct.get("completed", False),
        "tasks": tasks,
        "root": own[dct["root"]],
    }
