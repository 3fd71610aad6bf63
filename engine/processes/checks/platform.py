"""What the platform relies on in the complaint lifecycle: its verify and respond tasks, their forms and
the statuses the pages, inboxes and KPIs read. A new version that lacks one is told which, plainly.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.cases.access import LANE_ROLES
from engine.processes.checks.diagram import Issue

LIFECYCLE_KEY = "complaint"  # the process new complaints start on (engine.processes.registry.DEFAULT_KEY)
# task id → (lane, form fields the API, pages and KPIs read)
TASKS = {
    "verify": ("verifier", ("decision", "agency")),
    "respond": ("officer", ("decision", "message")),
}
STATUSES = ("submitted", "dispositioned", "closed")  # KPIs: verification time, follow-up speed, completion
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def platform_issues(trees: Mapping[str, etree._Element], schemas: Mapping[str, Mapping[str, Any]]) -> list[Issue]:
    """What the lifecycle lacks of `TASKS` and `STATUSES` (one issue per missing piece)."""
    diagrams = {file: root for file, root in trees.items() if file.endswith(".bpmn")}
    tasks = {el.get("id"): (file, el) for file, root in diagrams.items() for el in root.iter(f"{{{BPMN}}}userTask")}
    lanes = {
        ref.text.strip(): lane.get("name")
        for root in diagrams.values()
        for lane in root.iter(f"{{{BPMN}}}lane")
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef")
        if ref.text
    }
    issues: list[Issue] = []
    main = next(iter(sorted(diagrams)), "files")
    for task_id, (lane, fields) in TASKS.items():
        if task_id not in tasks:
            message = (
                f"the lifecycle has no user task {task_id!r}: the inboxes, pages and figures rely on it;"
                f" keep a user task with the id {task_id!r} in the {lane} lane"
            )
            issues.append(Issue(main, message))
            continue
        file, element = tasks[task_id]
        if lanes.get(task_id) in LANE_ROLES - {lane}:  # a lane named after no role has its own finding
            message = f"user task {task_id!r} must stay in the {lane} lane (it is in {lanes[task_id]!r})"
            issues.append(Issue(file, message, task_id, element.sourceline))
        form = _form_of(element)
        properties = (schemas.get(form or "") or {}).get("properties") or {}
        lacking = [name for name in fields if name not in properties]
        if form in schemas and lacking:
            message = f"the form {form} of {task_id!r} lacks {', '.join(lacking)}, which the platform reads"
            issues.append(Issue(file, message, task_id, element.sourceline))
    set_statuses = {status for root in diagrams.values() for status in _statuses(root)}
    missing = [status for status in STATUSES if status not in set_statuses]
    if missing:
        message = (
            f"no script sets the status {', '.join(repr(s) for s in missing)} (update_case(status=…)):"
            " the lists and figures rely on it"
        )
        issues.append(Issue(main, message))
    return issues


def _form_of(task: etree._Element) -> str | None:
    for prop in task.iter(f"{{{SPIFF}}}property"):
        if prop.get("name") == "formJsonSchemaFilename":
            return str(prop.get("value"))
    return None


def _statuses(root: etree._Element) -> set[str]:
    found: set[str] = set()
    for script in root.iter(f"{{{BPMN}}}script"):
        try:
            tree = ast.parse(script.text or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "update_case":
                for keyword in node.keywords:
                    if keyword.arg == "status" and isinstance(keyword.value, ast.Constant):
                        found.add(str(keyword.value.value))
    return found
