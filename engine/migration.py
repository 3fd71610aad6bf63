"""What changed between two versions, and moving a running case onto another version.

Built on `SpiffWorkflow.bpmn.util.diff`: `SpecDiff` aligns two specs by BPMN id, `WorkflowDiff` finds a
case's tasks whose spec changed or is gone, `migrate_workflow` swaps the specs and resets the waiting
part of the tree. A case may move only when that is safe, spiff-arena's policy made stricter:

* nothing the case has already done may change: no task that ran (COMPLETED) or is running (STARTED,
  e.g. a subprocess) may be changed or removed in the target;
* no task that exists in any other state (waiting, cancelled, ...) may be removed — the case's history
  and its waiting tasks must still name elements of the target diagram;
* every subprocess the case has started must exist in the target;
* after the move every task names an element of the target (checked, else nothing is saved).

Waiting tasks (READY, WAITING) and running subprocess tasks are reset and re-armed from the new specs, so
a changed timer on the current step takes effect; a timer given as a duration restarts from now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, filter_tasks, migrate_workflow
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.errors import Conflict
from engine.serialization import REGISTRY, ran_before_pruning
from engine.validation import ParsedProcess

RESET_MASK = TaskState.READY | TaskState.WAITING | TaskState.STARTED  # spiff-arena's
HAS_RUN = TaskState.COMPLETED | TaskState.STARTED
PREDICTED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE


# Summaries of what changed ------------------------------------------------------------------------------


def element_of(spec: TaskSpec) -> str | None:
    """The BPMN element a task spec stands for (internal specs such as `verify.BoundaryEventSplit` → `verify`)."""
    if getattr(spec, "bpmn_id", None):
        return str(spec.bpmn_id)
    return spec.name.rsplit(".", 1)[0] if "." in spec.name else None


def file_changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, list[str]]:
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(n for n in set(before) & set(after) if before[n] != after[n]),
    }


def spec_changes(before: ParsedProcess, after: ParsedProcess) -> dict[str, Any]:
    """Elements added, removed and changed (with the changed attributes), over the main and sub processes."""
    added: set[str] = set()
    removed: set[str] = set()
    changed: dict[str, set[str]] = {}
    pairs = [(before.spec, after.spec)]
    names = sorted(set(before.subprocess_specs) | set(after.subprocess_specs))
    pairs += [(before.subprocess_specs.get(n), after.subprocess_specs.get(n)) for n in names]
    for old, new in pairs:
        if old is None or new is None:
            elements = _elements((new or old).task_specs.values())
            (added if old is None else removed).update(elements)
            continue
        diff = SpecDiff(REGISTRY, old, new)
        added.update(_elements(diff.added))
        removed.update(_elements(diff.removed))
        for spec, attributes in diff.changed.items():
            element = element_of(spec)
            if element:
                changed.setdefault(element, set()).update(attributes)
    return {
        "elements": {
            "added": sorted(added),
            "removed": sorted(removed),
            "changed": {e: sorted(a) for e, a in sorted(changed.items())},
        }
    }


def _elements(specs: Iterable[TaskSpec]) -> set[str]:
    return {e for e in (element_of(s) for s in specs) if e}


def table_dict(table: DecisionTable) -> dict[str, Any]:
    """A decision table as plain data: what a decision version stores and what its diff compares."""
    return {
        "id": table.id,
        "name": table.name,
        "hit_policy": table.hit_policy,
        "inputs": [{"id": i.id, "label": i.label, "name": i.name, "expression": i.expression} for i in table.inputs],
        "outputs": [{"id": o.id, "label": o.label, "name": o.name} for o in table.outputs],
        "rules": [
            {
                "id": rule.id,
                "description": rule.description,
                "inputs": [e.lhs for e in rule.inputEntries],
                "outputs": [e.text for e in rule.outputEntries],
            }
            for rule in table.rules
        ],
    }


def decision_changes(before: DecisionTable, after: DecisionTable) -> dict[str, Any]:
    """Rules added, removed and changed (by rule id), and the outputs gained or lost."""
    old = {r["id"]: r for r in table_dict(before)["rules"]}
    new = {r["id"]: r for r in table_dict(after)["rules"]}
    old_outputs = {o.name for o in before.outputs}
    new_outputs = {o.name for o in after.outputs}
    return {
        "rules": {
            "added": sorted(set(new) - set(old)),
            "removed": sorted(set(old) - set(new)),
            "changed": sorted(r for r in set(old) & set(new) if old[r] != new[r]),
        },
        "outputs": {"added": sorted(new_outputs - old_outputs), "removed": sorted(old_outputs - new_outputs)},
    }


# Moving a case ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """A case's workflow against a target version: the diffs, and why the move is not safe (if it is not)."""

    top: WorkflowDiff
    subprocesses: dict[UUID, WorkflowDiff | None]
    reasons: list[str] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        return not self.reasons


def plan(wf: BpmnWorkflow, target: ParsedProcess, label: str) -> Plan:
    """Diff the case (and each subprocess it started) against `target`; `label` names it in reasons."""
    top_diff = SpecDiff(REGISTRY, wf.spec, target.spec)
    result = Plan(WorkflowDiff(wf, top_diff), {})
    reasons: dict[str, str] = {}
    _judge(result.top, top_diff, label, reasons)
    for sp_id, sp in wf.subprocesses.items():
        new = target.subprocess_specs.get(sp.spec.name)
        if new is None:
            result.subprocesses[sp_id] = None
            reasons.setdefault(sp.spec.name, f"the case has started {sp.spec.name!r}, which {label} does not have")
            continue
        sp_diff = SpecDiff(REGISTRY, sp.spec, new)
        result.subprocesses[sp_id] = WorkflowDiff(sp, sp_diff)
        _judge(WorkflowDiff(sp, sp_diff), sp_diff, label, reasons)
    _judge_history(wf, target, top_diff, label, reasons)
    result.reasons = list(reasons.values())
    return result


def _judge_history(
    wf: BpmnWorkflow, target: ParsedProcess, top_diff: SpecDiff, label: str, reasons: dict[str, str]
) -> None:
    """The same judgement for steps that ran in the history the stored state no longer holds."""
    for process, names in ran_before_pruning(wf).items():
        old = wf.spec if process == wf.spec.name else wf.subprocess_specs.get(process)
        new = target.spec if process == wf.spec.name else target.subprocess_specs.get(process)
        if old is None:
            continue
        if new is None:
            reasons.setdefault(process, f"the case has started {process!r}, which {label} does not have")
            continue
        diff = top_diff if old is wf.spec else SpecDiff(REGISTRY, old, new)
        removed = set(diff.removed)
        for name in sorted(names):
            spec = old.task_specs.get(name)
            if spec in diff.changed:
                attributes = ", ".join(diff.changed[spec])
                reasons.setdefault(
                    name, f"{_describe_spec(spec)} has already run, and {label} changes it ({attributes})"
                )
            elif spec in removed:
                reasons.setdefault(name, f"{_describe_spec(spec)} has already run, and {label} removes it")


def _judge(diff: WorkflowDiff, spec_diff: SpecDiff, label: str, reasons: dict[str, str]) -> None:
    for task in filter_tasks(diff.changed, state=HAS_RUN):
        attributes = ", ".join(spec_diff.changed.get(task.task_spec, []))
        if task.task_spec.name.endswith(".BoundaryEventSplit"):
            what = f"the events attached to {_name(task)!r} were set up when it began, and {label} changes them"
        else:
            done = "has already run" if task.state == TaskState.COMPLETED else "is in progress"
            what = f"{_describe(task)} {done}, and {label} changes it"
        reasons.setdefault(task.task_spec.name, f"{what} ({attributes})")
    for task in diff.removed:
        if task.state & PREDICTED:
            continue
        state = "has already run" if task.state & HAS_RUN else f"is {TaskState.get_name(task.state).lower()}"
        reasons.setdefault(task.task_spec.name, f"{_describe(task)} {state}, and {label} removes it")


def _name(task: Task) -> str:
    return element_of(task.task_spec) or task.task_spec.name


def _describe(task: Task) -> str:
    return _describe_spec(task.task_spec)


def _describe_spec(spec: TaskSpec) -> str:
    title = getattr(spec, "bpmn_name", None)
    return f"{element_of(spec) or spec.name!r}" + (f" ({title})" if title else "")


def apply(migration: Plan, wf: BpmnWorkflow, target: ParsedProcess) -> list[str]:
    """Move `wf` onto `target` (only a safe plan); returns problems that forbid saving the result."""
    assert migration.safe, migration.reasons
    migrate_workflow(migration.top, wf, target.spec, reset_mask=RESET_MASK)
    for sp_id, sp in wf.subprocesses.items():
        diff = migration.subprocesses[sp_id]
        assert diff is not None
        migrate_workflow(diff, sp, target.subprocess_specs[sp.spec.name], reset_mask=RESET_MASK)
    wf.subprocess_specs = target.subprocess_specs
    _mark_running_subprocesses(wf)
    return strays(wf)


def _mark_running_subprocesses(wf: BpmnWorkflow) -> None:
    """A reset leaves the task of a running subprocess FUTURE; mark it STARTED, as SpiffWorkflow's own reset does."""
    for workflow in [wf, *wf.subprocesses.values()]:
        for task in workflow.get_tasks(state=TaskState.FUTURE, skip_subprocesses=True):
            sub = wf.subprocesses.get(task.id)
            if sub is not None and not sub.completed:
                task._set_state(TaskState.STARTED)


def strays(wf: BpmnWorkflow) -> list[str]:
    """Tasks whose spec is not the current spec of their workflow (the state would not load again)."""
    found: list[str] = []
    for workflow in [wf, *wf.subprocesses.values()]:
        specs: BpmnProcessSpec = workflow.spec
        for task in workflow.get_tasks(skip_subprocesses=True):
            if specs.task_specs.get(task.task_spec.name) is not task.task_spec:
                found.append(f"{_describe(task)} would be left on an element the target does not have")
    return sorted(set(found))


@dataclass
class Report:
    """What became (or, in a dry run, would become) of one case: migrated, migratable or refused, and why."""

    tracking_id: str
    status: str
    from_version: int
    to_version: int
    result: str = "refused"
    reasons: list[str] = field(default_factory=list)
    diff: dict[str, Any] = field(default_factory=dict)


class Refused(Conflict):
    """The case cannot move to the target version; `report.reasons` say why (HTTP 409)."""

    def __init__(self, report: Report) -> None:
        super().__init__(
            f"complaint {report.tracking_id} cannot move to version {report.to_version}", {"reasons": report.reasons}
        )
        self.report = report
