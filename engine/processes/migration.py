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

Two exceptions carry a change of policy onto running cases:

* a decision that already ran and whose only change is its table (a deadline, a route) is evaluated
  again with the new table (`carry_policy`); every script that ran after it and read a value that changed
  is run again as of the moment it first ran (so `working_days(followup_days)` counts from the same day),
  and the new values reach the waiting part of the case before it is re-armed: open tasks' deadlines and
  timers follow the new table;
* an element renamed or replaced in the target is mapped explicitly (`{old_id: new_id}`, Camunda's
  migration plan): the case's tasks on the old element continue on the new one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, filter_tasks, migrate_workflow
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.errors import Conflict
from engine.processes.serialization import REGISTRY, ran_before_pruning, recorded_runs, script_names
from engine.processes.validation import ParsedProcess

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
        "cells": changed_cells(before, after),
    }


def changed_cells(before: DecisionTable, after: DecisionTable) -> list[dict[str, Any]]:
    """Each cell of a rule kept in both tables whose text changed: {rule, column, from, to}, in table order.

    Columns are named by the input's label (or expression) and the output's name; a column only one side
    has is not a cell change (see `outputs`)."""
    old, new = table_dict(before), table_dict(after)
    old_rules = {rule["id"]: rule for rule in old["rules"]}
    cells: list[dict[str, Any]] = []
    for rule in new["rules"]:
        previous = old_rules.get(rule["id"])
        if previous is None:
            continue
        for kind, columns in (("inputs", new["inputs"]), ("outputs", new["outputs"])):
            names = [c["label"] or c.get("expression") or c["name"] for c in columns]
            old_names = [c["label"] or c.get("expression") or c["name"] for c in old[kind]]
            for index, name in enumerate(names):
                if name not in old_names or index >= len(rule[kind]):
                    continue
                was, now = previous[kind][old_names.index(name)], rule[kind][index]
                if was != now:
                    cells.append({"rule": rule["id"], "column": name, "from": was, "to": now})
    return cells


# Moving a case ------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    """A decision or script run that pruning dropped from the tree, as its record in the state keeps it
    (`serialization.recorded_runs`): enough to evaluate the decision again or re-run the script."""

    task_spec: TaskSpec
    workflow: BpmnWorkflow  # the DMN engine evaluates through `task.workflow.script_engine`
    data: dict[str, Any]  # a decision: its whole data; a script: the values it assigned
    context: dict[str, Any]  # a script: the values it read
    last_state_change: float
    runs: int  # runs the record stands for; only the last one is kept

    @classmethod
    def of(cls, spec: TaskSpec, wf: BpmnWorkflow, entry: Mapping[str, Any]) -> Recorded:
        return cls(spec, wf, dict(entry["data"]), dict(entry.get("context", {})), entry["t"], entry["n"])


class Unrecorded(Exception):
    """What a new table changes would have to be carried through runs the case's state no longer holds."""


@dataclass
class Plan:
    """A case's workflow against a target version: the diffs, the decisions to evaluate again, and why the
    move is not safe (if it is not)."""

    top: WorkflowDiff
    subprocesses: dict[UUID, WorkflowDiff | None]
    reasons: list[str] = field(default_factory=list)
    reevaluate: list[Task | Recorded] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        return not self.reasons


def plan(wf: BpmnWorkflow, target: ParsedProcess, label: str, mapping: Mapping[str, str] | None = None) -> Plan:
    """Diff the case (and each subprocess it started) against `target`, elements renamed as `mapping` says
    (old id → new id); `label` names the target in reasons."""
    mapping = dict(mapping or {})
    reasons = _mapping_problems(wf, target, mapping, label)
    top_diff = _mapped(SpecDiff(REGISTRY, wf.spec, target.spec), wf.spec, target.spec, mapping)
    result = Plan(WorkflowDiff(wf, top_diff), {})
    _judge(result.top, top_diff, label, reasons, result.reevaluate)
    for sp_id, sp in wf.subprocesses.items():
        new = target.subprocess_specs.get(sp.spec.name)
        if new is None:
            result.subprocesses[sp_id] = None
            reasons.setdefault(sp.spec.name, f"the case has started {sp.spec.name!r}, which {label} does not have")
            continue
        sp_diff = _mapped(SpecDiff(REGISTRY, sp.spec, new), sp.spec, new, mapping)
        result.subprocesses[sp_id] = WorkflowDiff(sp, sp_diff)
        _judge(WorkflowDiff(sp, sp_diff), sp_diff, label, reasons, result.reevaluate)
    _judge_history(wf, target, top_diff, label, reasons, result.reevaluate)
    result.reasons = list(reasons.values())
    return result


def _judge_history(
    wf: BpmnWorkflow,
    target: ParsedProcess,
    top_diff: SpecDiff,
    label: str,
    reasons: dict[str, str],
    reevaluate: list[Task | Recorded],
) -> None:
    """The same judgement for steps that ran in the history the stored state no longer holds; a decision
    whose table alone changed is evaluated again from its recorded last run."""
    runs = recorded_runs(wf)
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
            entry = runs.get(process, {}).get(name)
            if spec is not None and entry is not None and _table_only_spec(spec, diff):
                reevaluate.append(Recorded.of(spec, wf, entry))
            elif spec in diff.changed:
                attributes = ", ".join(diff.changed[spec])
                reasons.setdefault(
                    name, f"{_describe_spec(spec)} has already run, and {label} changes it ({attributes})"
                )
            elif spec in removed:
                reasons.setdefault(name, f"{_describe_spec(spec)} has already run, and {label} removes it")


def _mapping_problems(
    wf: BpmnWorkflow, target: ParsedProcess, mapping: Mapping[str, str], label: str
) -> dict[str, str]:
    """Each pair of the mapping must name an element of the case's version and one of the target."""
    specs = [wf.spec, *wf.subprocess_specs.values()]
    new_specs = [target.spec, *target.subprocess_specs.values()]
    problems: dict[str, str] = {}
    for old, new in mapping.items():
        if not any(old in spec.task_specs for spec in specs):
            problems[f"map:{old}"] = f"the mapping names {old!r}, which the case's version does not have"
        if not any(new in spec.task_specs for spec in new_specs):
            problems[f"map:{new}"] = f"the mapping names {new!r}, which {label} does not have"
    return problems


def _mapped(diff: SpecDiff, old: BpmnProcessSpec, new: BpmnProcessSpec, mapping: Mapping[str, str]) -> SpecDiff:
    """Align each mapped element (and its internal specs, `verify.BoundaryEventSplit` …) with its new id."""
    if not mapping:
        return diff
    for spec in list(diff.alignment):
        if old.task_specs.get(spec.name) is not spec:
            continue
        name = _renamed(spec.name, mapping)
        if name != spec.name and new.task_specs.get(name) is not None:
            diff.alignment[spec] = new.task_specs[name]
    for spec, candidate in diff.alignment.items():  # compare as if the old version used the new ids
        if candidate is not None:
            before, after = REGISTRY.convert(spec), REGISTRY.convert(candidate)
            before = {key: _renamed_value(value, mapping) for key, value in before.items()}
            diff.comparisons[spec] = [key for key, value in before.items() if after.get(key) != value]
    return diff


def _renamed(name: str, mapping: Mapping[str, str]) -> str:
    """A spec name with a mapped element id replaced (`verify` and its internal specs `verify.…`)."""
    for old_id, new_id in mapping.items():
        if name == old_id or name.startswith(old_id + "."):
            return new_id + name[len(old_id) :]
    return name


def _renamed_value(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _renamed(value, mapping)
    if isinstance(value, list):
        return [_renamed_value(item, mapping) for item in value]
    return value


def _judge(
    diff: WorkflowDiff, spec_diff: SpecDiff, label: str, reasons: dict[str, str], reevaluate: list[Task]
) -> None:
    for task in filter_tasks(diff.changed, state=HAS_RUN):
        attributes = ", ".join(spec_diff.changed.get(task.task_spec, []))
        if _table_only(task, spec_diff):
            reevaluate.append(task)  # a policy change: evaluated again by carry_policy
            continue
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


def _table_only(task: Task, spec_diff: SpecDiff) -> bool:
    """A decision that ran and whose table alone changed (a new deadline, a new route)."""
    return task.state == TaskState.COMPLETED and _table_only_spec(task.task_spec, spec_diff)


def _table_only_spec(spec: TaskSpec, spec_diff: SpecDiff) -> bool:
    changed = spec_diff.changed.get(spec, [])
    return isinstance(spec, BusinessRuleTaskMixin) and list(changed) == ["decision_table"]


# Carrying a policy change -------------------------------------------------------------------------------


@dataclass
class Policy:
    """The values a migration changes in a case: decision outputs and what scripts derived from them."""

    values: dict[str, Any] = field(default_factory=dict)  # name → new value
    before: dict[str, Any] = field(default_factory=dict)  # name → value before
    decisions: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # element → {output: [old, new]}

    def changes(self) -> dict[str, list[Any]]:
        return {name: [self.before.get(name), value] for name, value in sorted(self.values.items())}


ScriptEnvironment = Callable[[datetime], Any]  # the moment a script first ran → a script environment


def carry_policy(plan: Plan, wf: BpmnWorkflow, target: ParsedProcess, environment: ScriptEnvironment) -> Policy:
    """Evaluate each re-evaluated decision with the target's table and re-run the scripts that depend on
    what changed; write the new values into the waiting part of the case (before `apply` re-arms it)."""
    policy = Policy()
    specs = {
        name: spec for s in [target.spec, *target.subprocess_specs.values()] for name, spec in s.task_specs.items()
    }
    for task in _latest(plan.reevaluate):
        new_spec = specs[task.task_spec.name]  # a table-only change: the same id in the target
        result = new_spec.dmnEngine.result(task)  # reads task.data and task.workflow.script_engine
        changed = {k: v for k, v in result.items() if task.data.get(k) != v}
        if changed:
            policy.decisions[_name(task)] = {k: [task.data.get(k), v] for k, v in sorted(changed.items())}
            for name, value in changed.items():
                policy.before.setdefault(name, task.data.get(name))
                policy.values[name] = value
    if policy.values:
        after = min(t.last_state_change for t in plan.reevaluate)
        _rerun_scripts(wf, after, policy, environment)
        _write_waiting(wf, policy.values)
    return policy


def _latest(tasks: list[Task | Recorded]) -> list[Task | Recorded]:
    """The last run of each decision (a decision run twice is evaluated again as of its last run)."""
    latest: dict[str, Task | Recorded] = {}
    for task in sorted(tasks, key=lambda t: t.last_state_change):
        latest[task.task_spec.name] = task
    return list(latest.values())


def _rerun_scripts(wf: BpmnWorkflow, after: float, policy: Policy, environment: ScriptEnvironment) -> None:
    """Re-run, oldest first and as of when each first ran, the scripts that ran after `after` and read a
    changed value; what they assign joins the changed values. A script pruning dropped is re-run from its
    recorded last run; if it ran more than once and reads a value another re-run derived, the runs in
    between would be needed, and `Unrecorded` says so."""
    derived: set[str] = set()  # assigned by a re-run script (a decision's output is the same for every run)
    for run in sorted((r for r in _script_runs(wf) if r.last_state_change >= after), key=lambda r: r.last_state_change):
        script = getattr(run.task_spec, "script", None) or ""
        reads, assigns = script_names(script)
        if not reads & set(policy.values):
            continue
        if run.runs > 1 and reads & derived:
            raise Unrecorded(
                f"{_describe_spec(run.task_spec)} ran {run.runs} times and reads {', '.join(sorted(reads & derived))},"
                " which the new table changes; the case's state keeps only its last run"
            )
        context = {**copy.deepcopy(run.context), **copy.deepcopy(policy.values)}
        moment = datetime.fromtimestamp(run.last_state_change, tz=UTC)
        environment(moment).execute(script, context, {})
        for name in assigns:
            if name in context and run.data.get(name) != context[name]:
                policy.before.setdefault(name, run.data.get(name))
                policy.values[name] = context[name]
                derived.add(name)


def _script_runs(wf: BpmnWorkflow) -> list[Recorded]:
    """Every completed script run in the tree, and the recorded last run of each script pruning dropped."""
    runs = []
    for task in wf.get_tasks(state=TaskState.COMPLETED):
        if isinstance(task.task_spec, ScriptTask):
            before = task.parent.data if task.parent else {}
            runs.append(Recorded(task.task_spec, task.workflow, task.data, before, task.last_state_change, 1))
    for process, entries in recorded_runs(wf).items():
        spec = wf.spec if process == wf.spec.name else wf.subprocess_specs.get(process)
        for name, entry in entries.items():
            task_spec = spec.task_specs.get(name) if spec is not None else None
            if isinstance(task_spec, ScriptTask):
                runs.append(Recorded.of(task_spec, wf, entry))
    return runs


def _write_waiting(wf: BpmnWorkflow, values: Mapping[str, Any]) -> None:
    """The new values into every task not yet done and the tasks they inherit their data from on a reset."""
    for task in wf.get_tasks(state=RESET_MASK | PREDICTED):
        for holder in (task, task.parent):
            if holder is not None:
                holder.data.update(copy.deepcopy(dict(values)))


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
    decisions: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # re-evaluated: {output: [old, new]}
    deadlines: list[dict[str, Any]] = field(default_factory=list)  # open tasks whose deadline moves
    next_timer: list[str | None] | None = None  # [before, after] when the case's next timer moves


class Refused(Conflict):
    """The case cannot move to the target version; `report.reasons` say why (HTTP 409)."""

    def __init__(self, report: Report) -> None:
        super().__init__(
            f"complaint {report.tracking_id} cannot move to version {report.to_version}", {"reasons": report.reasons}
        )
        self.report = report
