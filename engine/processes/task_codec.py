"""SpiffWorkflow's instance converters, for the task tree, in one walk: the same dicts, less Python per task.

`state_dict` gives exactly what SpiffWorkflow 3.2's `WorkflowConverter` / `BpmnSubWorkflowConverter` give
for a workflow's instance part (same keys, same order, same values: `tests/engine/processes/test_task_codec.py`
compares them), and `restore_tasks` / `restore_subprocesses` rebuild what their `from_dict` rebuild. What
they save: every task id is turned into a string (dump) or a UUID (load) once instead of at each mention
(its own id, its parent's children, its children's parent), plain JSON values skip the registry's dispatch,
and a child's data starts from its parent's by one comprehension (DeepMerge into an empty dict is a
one-level copy). Anything but plain JSON values (a UUID or datetime in task data, say) goes through the
registry as before.
"""

from __future__ import annotations

from copy import copy
from types import ModuleType
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_PLAIN = frozenset({str, int, float, bool, type(None)})
_MUTABLE = (dict, list, set)


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
            convert = self.convert
            return {k: convert(v) for k, v in value.items() if not callable(v) and not isinstance(v, ModuleType)}
        if kind is list:
            return [self.convert(v) for v in value]
        return self.registry.convert(value)

    def workflow_dict(self, wf: Any) -> dict[str, Any]:
        """`WorkflowConverter.to_dict(wf)`."""
        tasks = wf.tasks
        names = {key: str(key) for key in tasks}
        return {
            "data": self.convert(self.registry.clean(wf.data)),
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "tasks": {
                names[key]: self._task_dict(task, tasks, names) if type(task) is Task else self.registry.convert(task)
                for key, task in tasks.items()
            },
            "root": str(wf.task_tree.id),
        }

    def _task_dict(self, task: Task, tasks: dict[UUID, Task], names: dict[UUID, str]) -> dict[str, Any]:
        """`TaskConverter.to_dict(task)` with its typename."""
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            data, delta = task.data, {}
        else:
            mine, theirs = task.data, parent.data
            data = {}
            delta = {
                "updates": {k: v for k, v in mine.items() if k not in theirs or v != theirs[k]},
                "deletions": [k for k in theirs if k not in mine],
            }
        return {
            "id": names[task.id],
            "parent": names.get(task._parent) or str(task._parent) if parent is not None else None,
            "children": [names.get(child) or str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.convert(task.internal_data),
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
            restore = self.restore
            return {k: restore(v) for k, v in value.items()}
        if kind is list:
            return [self.restore(v) for v in value]
        return self.registry.restore(value)

    def restore_tasks(self, mapping: dict[str, Any], wf: Any, ids: dict[str, UUID]) -> dict[UUID, Task]:
        """`mapping_from_dict(mapping, UUID, workflow=wf)` for a mapping of task dicts (parents first)."""
        restored = {}
        for key, dct in mapping.items():
            if dct.get("typename") != self.task_typename or "delta" not in dct:
                task = self.registry.restore(dct, workflow=wf)
            else:
                task = self._task(dct, wf, ids)
            restored[_uuid(key, ids)] = task
        return restored

    def _task(self, dct: dict[str, Any], wf: Any, ids: dict[str, UUID]) -> Task:
        """`TaskConverter.from_dict(dct, wf)`."""
        task_spec = wf.spec.task_specs.get(dct["task_spec"])
        task = Task(wf, task_spec, state=dct["state"], id=_uuid(dct["id"], ids))
        parent_id = dct["parent"]
        task._parent = _uuid(parent_id, ids) if parent_id is not None else None
        task._children = [_uuid(child, ids) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            wf.top_workflow.event_manager.add_task(task)
        delta: dict[str, Any] = dct.get("delta") or {}
        parent = wf.tasks.get(task._parent) if delta and task._parent is not None else None
        if parent is not None:
            data = {k: copy(v) if isinstance(v, _MUTABLE) else v for k, v in parent.data.items()}
            data.update(self.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.restore(dct["data"])
        task.data = data
        return task

    def restore_subprocesses(self, dct: dict[str, Any], wf: Any, top: Any, ids: dict[str, UUID]) -> None:
        """`BpmnWorkflowConverter.subprocesses_from_dict(dct, wf)`: parents before their children."""
        for task in list(wf.tasks.values()):
            if not (isinstance(task.task_spec, SubWorkflowTask) and str(task.id) in dct):
                continue
            item = dct.pop(str(task.id))
            if item.get("typename") != self.sub_typename:
                sp = self.registry.restore(item, task=task, top_workflow=top)
            else:
                sp = BpmnSubWorkflow(top.subprocess_specs.get(task.task_spec.spec), task.id, top, deserializing=True)
                sp.tasks = self.restore_tasks(item["tasks"], sp, ids)
                sp.task_tree = sp.tasks.get(_uuid(item["root"], ids))
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


def _uuid(text: str, ids: dict[str, UUID]) -> UUID:
    """The UUID of `text`, parsed once per load."""
    found = ids.get(text)
    if found is None:
        found = ids[text] = UUID(text)
    return found
