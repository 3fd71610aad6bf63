"""A dry run in a sandbox: new workflows of an upload, in memory, driven along the main path and its branches.

Nothing is stored and nothing leaves the process: the script engine is the production one bound to a
throwaway `CaseEffects` (so `update_case`, `add_follow_up` and `notify` only record) and to the national
calendar. User tasks are completed with data made from their form schemas (an `examples` entry, defaults,
the first enum value, or a placeholder of the right type). The main path takes the first choice everywhere;
each further run deviates once: another value of a task's first choice field, the other value of a
boolean with a default, or every timer due while a task waits. Runs stop where a case would wait.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.calendar.working_days import WorkingCalendar
from engine.cases import forms
from engine.errors import InvalidData
from engine.processes import sandbox
from engine.processes.scripting import CaseEffects, script_engine

if TYPE_CHECKING:
    from engine.processes.validation import ParsedProcess

# what the engine puts into a new case's start task (lifecycle.start_case); a plausible complaint
SAMPLE_START: dict[str, Any] = {
    "kind": "complaint",
    "category": None,
    "agency": None,
    "desk": "sandbox",
    "channel": "web",
    "anonymous": False,
    "confidential": False,
}
MAX_RUNS = 12
MAX_USER_TASKS = 30
MAX_ENGINE_STEPS = 500  # SpiffWorkflow stops following a task tree about 1000 tasks deep
LONG_AGO = "2000-01-03T00:00:00+00:00"


@dataclass(frozen=True)
class Problem:
    """Something that went wrong at a diagram element (None: the run as a whole)."""

    element: str | None
    message: str
    path: str = "main path"


@dataclass(frozen=True)
class Deviation:
    """How a run leaves the main path at its `step`-th user task."""

    step: int
    task: str
    field: str | None = None
    value: Any = None

    @property
    def label(self) -> str:
        if self.field is None:
            return f"timers due while {self.task!r} waits"
        return f"{self.task}.{self.field} = {self.value!r}"


@dataclass
class Step:
    task: str
    schema: Mapping[str, Any]
    timers_waiting: bool


@dataclass
class Exploration:
    """What the runs found, and every variable they set (context for checking timer expressions)."""

    problems: list[Problem] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    runs: int = 0


class _TooManySteps(Exception):
    pass


class _Guard:
    """Counts engine steps (a loop of script tasks never waits) and remembers the task being run."""

    def __init__(self) -> None:
        self.steps = 0
        self.current: Task | None = None

    def __call__(self, task: Task) -> None:
        self.current = task
        self.steps += 1
        if self.steps > MAX_ENGINE_STEPS:
            raise _TooManySteps(f"more than {MAX_ENGINE_STEPS} engine steps without waiting: a loop?")


def sandbox_engine() -> PythonScriptEngine:
    return script_engine(WorkingCalendar.default(), CaseEffects())


def explore(parsed: ParsedProcess) -> Exploration:
    """The main path, then one run per deviation from it (at most MAX_RUNS runs)."""
    result = Exploration()
    main_steps = _run(parsed, None, result)
    deviations: list[Deviation] = []
    for number, step in enumerate(main_steps):
        if step.timers_waiting:
            deviations.append(Deviation(number, step.task))
        deviations += [Deviation(number, step.task, name, value) for name, value in alternatives(step.schema)]
    for deviation in deviations[: MAX_RUNS - 1]:
        _run(parsed, deviation, result)
    return result


def _run(parsed: ParsedProcess, deviation: Deviation | None, result: Exploration) -> list[Step]:
    """One run; adds its first problem and its data to `result`, returns the user tasks it completed."""
    result.runs += 1
    path = deviation.label if deviation else "main path"
    engine = sandbox_engine()
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
    wf.get_next_task(spec_name="Start").data.update(SAMPLE_START)
    guard, steps = _Guard(), []
    try:
        wf.do_engine_steps(will_complete_task=guard)
        for number in range(MAX_USER_TASKS + 1):
            if deviation and deviation.field is None and deviation.step == number:
                _expire_timers(wf)
                wf.refresh_timers()
                wf.do_engine_steps(will_complete_task=guard)
            ready = sorted(wf.get_tasks(state=TaskState.READY, manual=True), key=lambda t: t.task_spec.name)
            if not ready:
                _check_waits(wf)
                break
            if number == MAX_USER_TASKS:
                raise _TooManySteps(f"more than {MAX_USER_TASKS} user tasks without waiting: a loop?")
            task = guard.current = ready[0]
            schema = _form(parsed, task)
            for problem in check_properties(task, engine):
                _add(result, Problem(problem.element, problem.message, path))
            override = None
            if deviation and deviation.step == number and deviation.field is not None:
                override = (deviation.field, deviation.value)
            data = sample_data(schema, override)
            steps.append(Step(task.task_spec.name, schema, _timers_waiting(wf)))
            task.data.update(data)
            task.run()
            wf.do_engine_steps(will_complete_task=guard)
    except _Stop as stop:
        _add(result, Problem(stop.element, stop.message, path))
    except Exception as exc:  # anything the diagram's scripts, expressions or structure raise
        _add(result, Problem(_element(exc, guard.current), _message(exc), path))
    for task in wf.get_tasks():
        result.data.update(task.data)
    return steps


def _check_waits(wf: BpmnWorkflow) -> None:
    """A run that stops must have ended or wait for something (a timer, a message)."""
    if not wf.completed and not wf.get_tasks(state=TaskState.WAITING):
        last = max(wf.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change, default=None)
        element = (last.task_spec.bpmn_id or last.task_spec.name) if last is not None else None
        raise _Stop(element, "the case would stop here: it neither ends nor waits for a task, timer or message")


def _add(result: Exploration, problem: Problem) -> None:
    if all(p.element != problem.element for p in result.problems):
        result.problems.append(problem)


class _Stop(Exception):
    def __init__(self, element: str | None, message: str) -> None:
        super().__init__(message)
        self.element = element
        self.message = message


def _element(exc: Exception, current: Task | None) -> str | None:
    task = getattr(exc, "task", None)
    spec = task.task_spec if isinstance(task, Task) else getattr(exc, "task_spec", None)
    if spec is None and current is not None:
        spec = current.task_spec
    if spec is None:
        return None
    name = str(getattr(spec, "name", ""))
    # internal specs stand for their element: `respond.BoundaryEventSplit` → `respond`
    return getattr(spec, "bpmn_id", None) or (name.rsplit(".", 1)[0] if "." in name else name) or None


def _message(exc: Exception) -> str:
    cause = getattr(exc, "exception", None)
    if isinstance(cause, sandbox.Refused):  # a budget or size limit: its own words say it all
        return str(cause)
    if isinstance(exc, WorkflowException | _TooManySteps):
        return sandbox.plain(str(exc).strip().rstrip("."))
    return sandbox.reason(exc)


def _form(parsed: ParsedProcess, task: Task) -> Mapping[str, Any]:
    name = task.task_spec.extensions.get("properties", {}).get(forms.FORMS_PROPERTY)
    schema = parsed.forms.get(name or "")
    if schema is None:
        raise _Stop(task.task_spec.bpmn_id, f"form schema {name!r} is not among the files")
    return schema


def check_properties(task: Task, engine: PythonScriptEngine) -> list[Problem]:
    """The task's `agency` names an agency (or nobody) and its `dueAt` is an ISO-8601 date-time."""
    props = task.task_spec.extensions.get("properties", {})
    problems: list[Problem] = []
    for name in ("agency", "dueAt"):
        expression = props.get(name)
        if not expression:
            continue
        try:
            value = engine.evaluate(task, expression)
        except Exception as exc:
            problems.append(Problem(task.task_spec.bpmn_id, f"property {name} {expression!r} fails: {_message(exc)}"))
            continue
        problem = _datetime_problem(value) if name == "dueAt" else None
        if name == "agency" and value is not None and not isinstance(value, str):
            problem = f"gave {value!r}, not an agency code"
        if problem:
            problems.append(Problem(task.task_spec.bpmn_id, f"property {name} {expression!r}: {problem}"))
    return problems


def _timers_waiting(wf: BpmnWorkflow) -> bool:
    return any(_timers_of(t.task_spec) for t in wf.get_tasks(state=TaskState.WAITING))


def _timers_of(spec: object) -> list[TimerEventDefinition]:
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return [d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)]
    return [definition] if isinstance(definition, TimerEventDefinition) else []


def _expire_timers(wf: BpmnWorkflow) -> None:
    """Make every waiting timer due (as if the clock passed all deadlines)."""
    for task in wf.get_tasks(state=TaskState.WAITING):
        if not _timers_of(task.task_spec):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):
            value["next"] = LONG_AGO
        else:
            task.internal_data["event_value"] = LONG_AGO


# Form data ----------------------------------------------------------------------------------------------


def sample_value(prop: Mapping[str, Any]) -> Any:
    """A plausible value for one property of a form schema."""
    for key in ("const", "default"):
        if key in prop:
            return prop[key]
    for key in ("examples", "enum"):
        if isinstance(prop.get(key), list) and prop[key]:
            return prop[key][0]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind in ("integer", "number"):
        return prop.get("minimum", 1)
    simple = {"boolean": True, "array": [], "object": {}, "null": None}
    if kind in simple:
        return simple[kind]
    text = "sandbox".ljust(int(prop.get("minLength", 1)), "x")
    return text[: int(prop.get("maxLength", len(text)))]


def sample_data(schema: Mapping[str, Any], override: tuple[str, Any] | None = None) -> dict[str, Any]:
    """Data that satisfies `schema` (its first example, else made up), with `override` applied."""
    props = schema.get("properties", {})
    examples = schema.get("examples")
    if override is None and isinstance(examples, list) and examples and isinstance(examples[0], dict):
        data = dict(examples[0])
    else:
        data = {name: sample_value(props.get(name, {})) for name in schema.get("required", [])}
    if override is not None:
        data[override[0]] = override[1]
    validator = Draft202012Validator(schema)
    for _ in range(5):  # conditional requirements (if/then) appear once their condition holds
        missing = [
            name
            for error in validator.iter_errors(forms.with_defaults(schema, data))
            if error.validator == "required"
            for name in error.validator_value
            if name not in data
        ]
        if not missing:
            break
        data.update({name: sample_value(props.get(name, {})) for name in missing})
    try:
        return forms.validate(schema, data)
    except InvalidData as exc:
        raise _Stop(None, f"cannot make data for form {schema.get('$id', '')!r}: {exc.errors}; "
                    "add a complete example to the schema (\"examples\": [{...}])") from exc  # fmt: skip


def alternatives(schema: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The other choices of a form: its first required enum field's other values, and negated booleans."""
    props = schema.get("properties", {})
    choices: list[tuple[str, Any]] = []
    for name in schema.get("required", []):
        enum = props.get(name, {}).get("enum")
        if isinstance(enum, list) and len(enum) > 1:
            first = sample_value(props[name])
            choices += [(name, value) for value in enum if value != first]
            break
    for name, prop in props.items():
        if prop.get("type") == "boolean" and isinstance(prop.get("default"), bool):
            choices.append((name, not prop["default"]))
    return choices


# Timer expressions --------------------------------------------------------------------------------------


def check_timers(parsed: ParsedProcess, data: Mapping[str, Any], assigned: Iterable[str]) -> list[Problem]:
    """Every timer expression evaluates, with the dry runs' data, to what its kind needs.

    A name that some script, decision, form or message sets, but that no dry run reached, cannot be
    checked here and is left to the diagram; a name nothing sets is a finding.
    """
    engine, known = sandbox_engine(), set(assigned)
    problems: list[Problem] = []
    seen: set[str] = set()
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition) or task_spec.name in seen:
                continue
            seen.add(task_spec.name)
            message = _timer_problem(engine, definition, data, known)
            if message:
                problems.append(Problem(task_spec.bpmn_id or task_spec.name, message))
    return problems


def _timer_problem(
    engine: PythonScriptEngine, definition: TimerEventDefinition, data: Mapping[str, Any], known: set[str]
) -> str | None:
    expression = definition.expression
    try:
        value = engine.environment.evaluate(expression, dict(data))
    except NameError as exc:
        if exc.name in known:
            return None
        hint = f' (a fixed duration must be quoted: "{exc.name}")' if re.match(r"^P(T?\d)", exc.name or "") else ""
        return (
            f"timer expression {expression!r} does not evaluate: {exc.name!r} is not set by any script, "
            f"decision, form or message{hint}"
        )
    except Exception as exc:
        return f"timer expression {expression!r} does not evaluate: {sandbox.reason(exc)}"
    if isinstance(definition, DurationTimerEventDefinition):
        problem = _duration_problem(value)
    elif isinstance(definition, CycleTimerEventDefinition):
        problem = _cycle_problem(value)
    else:
        problem = _datetime_problem(value)
    return f"timer expression {expression!r}: {problem}" if problem else None


def _datetime_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must give an ISO-8601 date-time string (e.g. working_days(3)), got {value!r}"
    try:
        if not isinstance(TimerEventDefinition.parse_time_or_duration(value), datetime):
            raise ValueError(value)
    except Exception:
        return f"must give an ISO-8601 date-time string, got {value!r}"
    return None


def _duration_problem(value: object) -> str | None:
    try:
        TimerEventDefinition.parse_iso_duration(value if isinstance(value, str) else "")
        if not isinstance(value, str) or not value.upper().startswith("P"):
            raise ValueError(value)
    except Exception:
        return f'must give an ISO-8601 duration string such as "P3D" or "PT12H", got {value!r}'
    return None


def _cycle_problem(value: object) -> str | None:
    try:
        TimerEventDefinition.parse_iso_recurring_interval(value if isinstance(value, str) else "")
    except Exception:
        return f'must give an ISO-8601 repeating interval such as "R3/PT1H", got {value!r}'
    return None
