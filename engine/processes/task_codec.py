"""SpiffWorkflow's instance converters, for the task tree, in one walk: the same dicts, less Python per task.

`state_dict` gives what SpiffWorkflow 3.2's `WorkflowConverter` / `BpmnSubWorkflowConverter` give for a
workflow's instance part (same keys, same order, same values: `tests/engine/processes/test_task_codec.py`
compares them), and `restore_tasks` / `restore_subprocesses` rebuild what their `from_dict` rebuild. What
they save: every task id is turned into a string (dump) or a UUID (load) once instead of at each mention
(its own id, its parent's children, its children's parent), and looked up by the identity of its UUID
object (dump) or by its text (load) rather than through UUID.__hash__, which is Python; plain JSON values
skip the registry's dispatch; a task's delta is one dict comparison in C when its data equal its parent's
(most tasks) or when it has none left (an end event); a task is built with the attributes Task.__init__
gives, without its parent lookup and clock read; and a child's data start as a C copy of its parent's, in
which only the dict, list and set values are copied again (DeepMerge into an empty dict is such a
one-level copy; which keys hold one is carried down the tree, not looked up per key). Anything but plain
JSON values (a UUID or datetime in task data, say) goes through the registry as before.

The one difference in what is written: a child whose data equal its parent's by `==` gets no updates,
where the converters' per-key `!=` would list a value unequal to itself that the two share (a NaN). Both
restore to the same data (the child's copy of its parent's; orjson writes NaN as null).
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from types import ModuleType
from typing import Any
from uuid import UUID, SafeUUID

from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

Keys = frozenset[str] | set[str]  # keys of a task's data (e.g. those holding a dict, list or set)
_PLAIN = frozenset({str, int, float, bool, type(None)})
MUTABLE = (dict, list, set)


class Codec:
    """The fast path for one registry (the serializer's): its typenames for tasks and subprocesses."""

    def __init__(self, registry: DefaultRegistry) -> None:
        self.registry = registry
        self.task_typename = registry.typenames[Task]
        self.sub_typename = registry.typenames[BpmnSubWorkflow]

    # dump ---------------------------------------------------------------------------------------------

    def convert(self, value: Any) -> Any:
        """`registry.convert(value)`: plain JSON values walked here, anything else by the registry."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is dict:
            if not value:
                return {}
            convert, out = self.convert, {}
            for k, v in value.items():
                if type(v) in _PLAIN:  # never callable nor a module
                    out[k] = v
                elif not callable(v) and not isinstance(v, ModuleType):
                    out[k] = convert(v)
            return out
        if kind is list:
            convert = self.convert
            return [v if type(v) in _PLAIN else convert(v) for v in value]
        return self.registry.convert(value)

    def workflow_dict(self, wf: Any) -> dict[str, Any]:
        """`WorkflowConverter.to_dict(wf)`."""
        tasks = wf.tasks
        # by the id() of the key objects: a task's own id, its parent's and its children's are mostly the very
        # same UUID objects, and a dict keyed by int skips UUID.__hash__ (Python); any other object (equal,
        # not identical) misses and takes the slow way (str, tasks.get), with the same result
        names = {id(key): str(key) for key in tasks}
        known = {id(key): task for key, task in tasks.items()}
        task_dict, convert = self._task_dict, self.registry.convert
        return {
            "data": self.convert(self.registry.clean(wf.data)),
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "tasks": {
                names[id(key)]: task_dict(task, tasks, names, known) if type(task) is Task else convert(task)
                for key, task in tasks.items()
            },
            "root": str(wf.task_tree.id),
        }

    def _task_dict(
        self, task: Task, tasks: dict[UUID, Task], names: dict[int, str], known: dict[int, Task]
    ) -> dict[str, Any]:
        """`TaskConverter.to_dict(task)` with its typename."""
        parent_id = task._parent
        parent = None if parent_id is None else known.get(id(parent_id)) or tasks.get(parent_id)
        delta: dict[str, Any]
        if parent is None:
            data, delta = task.data, {}
        else:
            mine, theirs = task.data, parent.data
            data = {}
            if mine == theirs:  # most tasks: no change (one comparison in C, see the module's note on NaN)
                delta = {"updates": {}, "deletions": []}
            elif not mine:  # an end of a (sub)process: everything went
                delta = {"updates": {}, "deletions": list(theirs)}
            else:
                delta = {
                    "updates": {k: v for k, v in mine.items() if k not in theirs or v != theirs[k]},
                    "deletions": [k for k in theirs if k not in mine],
                }
        internal = task.internal_data
        return {
            "id": names[id(task.id)] if id(task.id) in names else str(task.id),
            "parent": (names.get(id(parent_id)) or str(parent_id)) if parent is not None else None,
            "children": [names.get(id(child)) or str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": {} if type(internal) is dict and not internal else self.convert(internal),
            "data": data,
            "delta": delta,
            "typename": self.task_typename,
        }

    def subprocesses_dict(self, wf: Any) -> dict[str, Any]:
        """`mapping_to_dict(wf.subprocesses)`."""
        out = {}
        for key, sp in wf.subprocesses.items():
            if type(sp) is not BpmnSubWorkflow:
                out[str(key)] = self.registry.convert(sp)
                continue
            dct = self.workflow_dict(sp)
            dct["parent_task_id"] = str(sp.parent_task_id)
            dct["spec"] = sp.spec.name
            dct["typename"] = self.sub_typename
            out[str(key)] = dct
        return out

    # load ---------------------------------------------------------------------------------------------

    def restore(self, value: Any) -> Any:
        """`registry.restore(value)`: plain JSON values walked here, typed values by the registry."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is dict and "typename" not in value:
            if not value:
                return {}
            restore = self.restore
            return {k: v if type(v) in _PLAIN else restore(v) for k, v in value.items()}
        if kind is list:
            restore = self.restore
            return [v if type(v) in _PLAIN else restore(v) for v in value]
        return self.registry.restore(value)

    def restore_tasks(self, mapping: dict[str, Any], wf: Any, ids: dict[str, UUID]) -> dict[UUID, Task]:
        """`mapping_from_dict(mapping, UUID, workflow=wf)` for a mapping of task dicts (parents first)."""
        walk = _Walk(wf, ids)
        fresh = not wf.tasks  # then each task restored registers itself there (Task.__init__ does), in order
        done = []
        for key, dct in mapping.items():
            if dct.get("typename") != self.task_typename or "delta" not in dct:
                task = self.registry.restore(dct, workflow=wf)
            else:
                task = self._task(dct, walk)
            done.append((key, task))
            fresh = fresh and key == dct.get("id")
        if fresh and len(wf.tasks) == len(done):
            return wf.tasks  # type: ignore[no-any-return]  # the very mapping built below, without a second dict
        return {parse_uuid(key, ids): task for key, task in done}

    def _task(self, dct: dict[str, Any], walk: _Walk) -> Task:
        """`TaskConverter.from_dict(dct, wf)`."""
        wf, ids = walk.wf, walk.ids
        task_spec = walk.specs.get(dct["task_spec"])
        text, parent_text, state = dct["id"], dct["parent"], dct["state"]
        task_id = ids.get(text) or parse_uuid(text, ids)  # (a UUID is never false)
        parent_id = (ids.get(parent_text) or parse_uuid(parent_text, ids)) if parent_text is not None else None
        if task_spec is None:  # Task's own default (a StartTask of the workflow's spec)
            task = Task(wf, task_spec, state=state, id=task_id)
            task._parent = parent_id
            task._children = [parse_uuid(child, ids) for child in dct["children"]]
            task.last_state_change = dct["last_state_change"]
            task.triggered = dct["triggered"]
            task.internal_data = self.restore(dct["internal_data"])
        else:  # what Task.__init__ and the lines above set, without its parent lookup and clock read
            task, internal = _new(Task), dct["internal_data"]
            task.__dict__ = {
                "id": task_id, "workflow": wf, "_parent": parent_id,
                "_children": [ids.get(child) or parse_uuid(child, ids) for child in dct["children"]], "_state": state,
                "triggered": dct["triggered"], "task_spec": task_spec, "thread_id": Task.thread_id_pool, "data": {},
                "internal_data": {} if type(internal) is dict and not internal else self.restore(internal),
                "last_state_change": dct["last_state_change"],
            }  # fmt: skip
            wf.tasks[task_id] = task
        if state & TaskState.WAITING and isinstance(task_spec, CatchingEvent):
            wf.top_workflow.event_manager.add_task(task)
        delta: dict[str, Any] = dct.get("delta") or {}
        parent = None
        if delta and parent_id is not None:
            parent = walk.tasks.get(parent_text) or wf.tasks.get(parent_id)
        if parent is not None:
            task.data = self._data(parent, parent_text, delta, walk, text)
        else:
            task.data = self.restore(dct["data"])
        walk.tasks[text] = task
        return task

    def _data(self, parent: Task, parent_text: str, delta: dict[str, Any], walk: _Walk, text: str) -> dict[str, Any]:
        """`DeepMerge.merge({}, parent.data)` (a copy of each dict, list and set value), updated, less the
        deletions; and which of its values are dicts, lists or sets (for its children's copies)."""
        pdata = parent.data
        updates, deletions = delta.get("updates", {}), delta.get("deletions", {})
        if deletions and len(deletions) == len(pdata) and pdata.keys() == set(deletions):
            data: dict[str, Any] = {}  # an end event: nothing of the parent's data stays
            mutable: frozenset[str] | set[str] = frozenset()
        else:
            data = dict(pdata)
            known = walk.mutable.get(parent_text) if parent_text in walk.tasks else None
            mutable = {k for k, v in pdata.items() if isinstance(v, MUTABLE)} if known is None else known
            for key in mutable:
                data[key] = copy(data[key])
        walk.mutable[text] = self.apply_delta(data, mutable, updates, deletions)
        return data

    def apply_delta(self, data: dict[str, Any], mutable: Keys, updates: Any, deletions: Iterable[str]) -> Keys:
        """A delta on `data` (the copy of the parent's): its updates restored and set, its deletions dropped;
        returns which of `data`'s keys now hold a dict, list or set (`mutable`: those before)."""
        if updates:
            restored = self.restore(updates)
            data.update(restored)
            mutable = {k for k in (*mutable, *restored) if isinstance(data.get(k), MUTABLE)}
        for key in deletions:
            data.pop(key, None)
        if deletions and mutable:
            mutable = {k for k in mutable if k in data}
        return mutable

    def restore_subprocesses(self, dct: dict[str, Any], wf: Any, top: Any, ids: dict[str, UUID]) -> None:
        """`BpmnWorkflowConverter.subprocesses_from_dict(dct, wf)`: parents before their children."""
        if not dct:
            return  # every subprocess restored: nothing left to look for below
        for task in list(wf.tasks.values()):
            if not (isinstance(task.task_spec, SubWorkflowTask) and str(task.id) in dct):
                continue
            item = dct.pop(str(task.id))
            if item.get("typename") != self.sub_typename:
                sp = self.registry.restore(item, task=task, top_workflow=top)
            else:
                sp = BpmnSubWorkflow(top.subprocess_specs.get(task.task_spec.spec), task.id, top, deserializing=True)
                sp.tasks = self.restore_tasks(item["tasks"], sp, ids)
                sp.task_tree = sp.tasks.get(parse_uuid(item["root"], ids))
                self.set_default_attributes(sp, item)
            top.subprocesses[task.id] = sp
            sp.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
            self.restore_subprocesses(dct, sp, top, ids)

    def set_default_attributes(self, wf: Any, dct: dict[str, Any]) -> None:
        """`WorkflowConverter.set_default_attributes(wf, dct)`."""
        wf.success = dct["success"]
        wf.completed = dct.get("completed", False)
        wf.correlations = dct.pop("correlations", {})
        if isinstance(dct["last_task"], str):
            wf.last_task = wf.tasks.get(UUID(dct["last_task"]))
        wf.data = self.restore(dct.pop("data", {}))


class _Walk:
    """What one `restore_tasks` keeps while it goes: the tasks restored so far by their id text (a str
    lookup, not UUID.__hash__) and, by the same text, which keys of each one's data hold a dict, list or set."""

    def __init__(self, wf: Any, ids: dict[str, UUID]) -> None:
        self.wf, self.ids, self.specs = wf, ids, wf.spec.task_specs
        self.tasks: dict[str, Task] = {}
        self.mutable: dict[str, frozenset[str] | set[str]] = {}


_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def parse_uuid(text: str, ids: dict[str, UUID]) -> UUID:
    """The UUID of `text`, parsed once per load: what UUID(text) gives, for half its time when `text` is 32
    hex digits and hyphens (UUID.__init__ strips braces and a urn: prefix, removes the hyphens, wants 32
    characters and parses them with int(…, 16): when that int() succeeds, there was nothing to strip)."""
    found = ids.get(text)
    if found is None:
        digits = text.replace("-", "")
        try:
            value = int(digits, 16) if len(digits) == 32 else None
        except ValueError:
            value = None
        if value is None:
            found = UUID(text)
        else:
            found = _new(UUID)
            _set(found, "int", value)
            _set(found, "is_safe", _UNKNOWN)
        ids[text] = found
    return found
