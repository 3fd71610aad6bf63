"""Diagram rules: what Aduan can execute, and exclusive gateways that always find a way out.

* a process marked `isExecutable="false"`, a data store, a manual task or a task without a type, and a
  task or event with several outgoing flows each get a plain sentence saying what to draw instead;
* an exclusive gateway without a default flow must cover every value its condition can meet: when every
  outgoing condition tests one variable against literals (`decision == 'accept'`, `x in ('a', 'b')`,
  `final` / `not final`), the values a form field (its `enum`, or a boolean) or a decision output can
  produce must each have a flow. Conditions this rule cannot read are left to the dry run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# tasks and events after which SpiffWorkflow takes exactly one flow
SINGLE_EXIT = (
    "task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "manualTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
)  # fmt: skip


@dataclass(frozen=True)
class Issue:
    """One finding of a rule: the file, the element and its line, and what to do about it."""

    file: str
    message: str
    element: str | None = None
    line: int | None = None


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _bpmn(trees: Mapping[str, etree._Element]) -> Iterator[tuple[str, etree._Element]]:
    for name, root in trees.items():
        if name.endswith(".bpmn"):
            yield name, root


def _issue(file: str, element: etree._Element, message: str) -> Issue:
    return Issue(file, message, element.get("id"), element.sourceline)


def diagram_issues(
    trees: Mapping[str, etree._Element], schemas: Mapping[str, Mapping[str, Any]], outputs: Mapping[str, set[Any]]
) -> list[Issue]:
    """Every issue of the BPMN files; `outputs` maps each decision output name to the values it can produce
    (a name missing: unknown values)."""
    issues: list[Issue] = []
    for file, root in _bpmn(trees):
        issues += _unsupported(file, root)
        issues += _several_exits(file, root)
        issues += _gateways(file, root, schemas, outputs)
    return issues


def _unsupported(file: str, root: etree._Element) -> list[Issue]:
    issues = []
    for element in root.iter():
        kind = _local(element)
        name = element.get("name") or element.get("id")
        if kind == "process" and element.get("isExecutable") == "false":
            message = (
                f'process {name!r} is marked not executable (isExecutable="false"): Aduan runs only executable'
                ' processes; tick "Executable" in the modeler\'s properties panel'
            )
            issues.append(_issue(file, element, message))
        elif kind in ("dataStoreReference", "dataStore"):
            message = "data stores are not supported: keep what the case needs in its data (data objects, task data)"
            issues.append(_issue(file, element, message))
        elif kind == "manualTask":
            message = (
                f"manual task {name!r}: nobody would be asked to do it and the case would wait for ever;"
                " draw a user task in the lane of the role who does it (with a form), or a script task"
            )
            issues.append(_issue(file, element, message))
        elif kind == "task":
            message = (
                f"task {name!r} has no type: choose a user task (someone does it, with a form), a script task"
                " or a business rule task in the modeler"
            )
            issues.append(_issue(file, element, message))
    return issues


def _several_exits(file: str, root: etree._Element) -> list[Issue]:
    issues = []
    for element in root.iter():
        if _local(element) not in SINGLE_EXIT:
            continue
        exits = [flow for flow in _outgoing(root, element) if flow is not None]
        if len(exits) > 1:
            message = (
                f"{len(exits)} flows leave {element.get('name') or element.get('id')!r}: let an exclusive gateway"
                " choose one of them, or a parallel gateway take them all"
            )
            issues.append(_issue(file, element, message))
    return issues


def _outgoing(root: etree._Element, element: etree._Element) -> list[etree._Element]:
    """The sequence flows leaving `element` (by sourceRef, which is what the engine follows)."""
    parent = element.getparent()
    scope = parent if parent is not None else root
    return [f for f in scope if _local(f) == "sequenceFlow" and f.get("sourceRef") == element.get("id")]


# Exclusive gateways -------------------------------------------------------------------------------------


def _gateways(
    file: str, root: etree._Element, schemas: Mapping[str, Mapping[str, Any]], outputs: Mapping[str, set[Any]]
) -> list[Issue]:
    issues = []
    for gateway in root.iter(f"{{{BPMN}}}exclusiveGateway"):
        flows = _outgoing(root, gateway)
        if len(flows) < 2 or gateway.get("default"):
            continue
        conditions = {f.get("id"): (f.findtext(f"{{{BPMN}}}conditionExpression") or "").strip() for f in flows}
        bare = [flow for flow in flows if not conditions[flow.get("id")]]
        for flow in bare:
            message = (
                f"flow {flow.get('id')!r} leaves exclusive gateway {gateway.get('id')!r} without a condition and is"
                " not its default flow: give it a condition, or make it the default"
            )
            issues.append(_issue(file, flow, message))
        if not bare:
            issues += _coverage(file, gateway, list(conditions.values()), schemas, outputs)
    return issues


def _coverage(
    file: str,
    gateway: etree._Element,
    conditions: list[str],
    schemas: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[str, set[Any]],
) -> list[Issue]:
    tests = [_tested(text) for text in conditions]
    if _complementary(conditions) or any(t is None for t in tests):
        return []
    names = {name for name, _ in tests if name is not None}  # type: ignore[misc]
    if len(names) != 1:
        return []
    (variable,) = names
    covered = {value for _, values in tests for value in values}  # type: ignore[misc]
    source, possible = _possible_values(variable, covered, schemas, outputs)
    if possible is None:
        return []
    missing = [value for value in possible if value not in covered]
    if not missing:
        return []
    listed = ", ".join(f"{variable} = {value!r}" for value in missing)
    message = (
        f"exclusive gateway {gateway.get('name') or gateway.get('id')!r} has no default flow and no flow for"
        f" {listed} ({source} allows {'it' if len(missing) == 1 else 'them'}): a case with that value would"
        " stop here; add a flow for it, or make one flow the default"
    )
    never = sorted(repr(value) for value in covered if value not in possible)
    if never:
        message += f"; the conditions test {', '.join(never)}, which {source} never produces"
    return [_issue(file, gateway, message)]


def _tested(text: str) -> tuple[str, set[Any]] | None:
    """(variable, values) when the condition tests one variable against literals, else None."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Name):
        return node.id, {True}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Name):
        return node.operand.id, {False}
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right, op = node.left, node.comparators[0], node.ops[0]
        if isinstance(op, ast.Eq) and isinstance(right, ast.Name):
            left, right = right, left
        if isinstance(left, ast.Name) and isinstance(op, ast.Eq | ast.In):
            try:
                value = ast.literal_eval(right)
            except ValueError:
                return None
            if isinstance(op, ast.Eq):
                return left.id, {value}
            if isinstance(value, tuple | list | set | frozenset):
                return left.id, set(value)
    return None


def _complementary(conditions: list[str]) -> bool:
    """Two conditions `E` (or `bool(E)`) and `not E`: one of them always holds."""
    if len(conditions) != 2:
        return False
    try:
        first, second = (ast.parse(text, mode="eval").body for text in conditions)
    except SyntaxError:
        return False

    def core(node: ast.expr) -> str:
        is_bool = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "bool"
        if is_bool and len(node.args) == 1 and not node.keywords:  # type: ignore[attr-defined]
            return ast.dump(node.args[0])  # type: ignore[attr-defined]
        return ast.dump(node)

    for a, b in ((first, second), (second, first)):
        if isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.Not) and ast.dump(a.operand) == core(b):
            return True
    return False


def _possible_values(
    variable: str, covered: set[Any], schemas: Mapping[str, Mapping[str, Any]], outputs: Mapping[str, set[Any]]
) -> tuple[str, list[Any] | None]:
    """Where the variable's values come from and what they can be: the form field whose values the
    conditions name most (an enum, or a boolean), else a decision output; None when unknown."""
    best: tuple[int, str, list[Any]] | None = None
    for file, schema in sorted(schemas.items()):
        prop = (schema.get("properties") or {}).get(variable)
        if not isinstance(prop, Mapping):
            continue
        values = list(prop["enum"]) if isinstance(prop.get("enum"), list) else None
        if values is None and prop.get("type") == "boolean":
            values = [True, False]
        if values is not None:
            overlap = len(covered & set(map(_hashable, values)))
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, f"the form {file}", values)
    if best is not None:
        return best[1], best[2]
    if variable in outputs:
        return f"the decision output {variable!r}", sorted(outputs[variable], key=repr)
    return "", None


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
