"""Decision tables that say when they find no rule, instead of silently giving nothing.

SpiffWorkflow's `DMNEngine.result` returns `{}` when no rule of a UNIQUE table matches; the task then goes
on without the table's outputs and the case fails later, somewhere else, with a `NameError`. A
`StrictDecisionEngine` raises `NoRule` naming the decision and its inputs' expressions, so the failure is
reported (and an incident opened) at the business rule task itself. COLLECT tables may match nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin
from SpiffWorkflow.dmn.specs.model import HitPolicy


class NoRule(Exception):
    """A UNIQUE decision table found no rule for the task's data (message safe to show)."""


class StrictDecisionEngine(DMNEngine):  # type: ignore[misc]
    def result(self, task: Any) -> dict[str, Any]:
        table = self.decision_table
        if table.hit_policy != HitPolicy.COLLECT.value and not self.decide(task):
            inputs = ", ".join(str(i.expression) for i in table.inputs)
            raise NoRule(f"decision table {table.id!r} found no rule for its inputs ({inputs}); add a '-' row")
        return dict(super().result(task))


def strict_decisions(specs: Iterable[Any]) -> None:
    """Make every business rule task of `specs` use a `StrictDecisionEngine` (in place; idempotent)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            engine: Any = getattr(task_spec, "dmnEngine", None)
            if isinstance(task_spec, BusinessRuleTaskMixin) and not isinstance(engine, StrictDecisionEngine):
                task_spec.dmnEngine = StrictDecisionEngine(engine.decision_table)
