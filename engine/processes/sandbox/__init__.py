"""The sandbox for everything a diagram evaluates (see bpmn/README.md, "The script environment").

Others may import:
- `restricted_engine(helpers)`: a SpiffWorkflow script engine whose expressions and scripts are compiled
  by RestrictedPython, see only `helpers`, safe builtins and `datetime`/`timedelta`, and run under a
  step/time budget and size guards (`engine.processes.sandbox.environment`, `engine.processes.sandbox.guards`);
- `unrestricted_engine(helpers)`: the plain SpiffWorkflow engine, for the benchmark's comparison only;
- `check(text, mode)`: why a text cannot run in the sandbox, or None;
- `reason(exc)`: a plain message for a failed evaluation (no object reprs, no server state);
- `run_isolated(fn, *args)`: run an upload check in a killable child process (`TimedOut`, `IsolationFailed`);
- `strict_decisions(specs)`: decision tables that raise `NoRule` instead of silently matching nothing;
- `Limits`, `configure`, `current`: the bounds and their process-wide knobs; `Refused`: a sandbox refusal.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine.processes.sandbox.decisions import NoRule, StrictDecisionEngine, strict_decisions
from engine.processes.sandbox.environment import RestrictedEnvironment, check, plain, reason
from engine.processes.sandbox.guards import SAFE_VALUES, Refused
from engine.processes.sandbox.isolation import IsolationFailed, TimedOut, run_isolated
from engine.processes.sandbox.limits import Limits, configure, current


class RestrictedScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's script engine on the restricted environment; `validate` (whether a text parses, which
    the decision engine asks of every rule entry at every evaluation) answered once per text."""

    def validate(self, expression: str) -> None:
        error = _syntax_error(expression)
        if error is not None:
            raise SyntaxError(*error.args)  # a fresh exception: a shared one would gather every traceback


@functools.lru_cache(maxsize=4096)
def _syntax_error(text: str) -> SyntaxError | None:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return exc
    return None


def restricted_engine(helpers: Mapping[str, Any]) -> PythonScriptEngine:
    """The script engine every case, dry run and validation uses."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment(helpers))


def unrestricted_engine(helpers: Mapping[str, Any]) -> PythonScriptEngine:
    """SpiffWorkflow's own eval/exec engine: never for diagrams, only to measure what the sandbox costs."""
    return PythonScriptEngine(environment=TaskDataEnvironment({**SAFE_VALUES, **helpers}))


__all__ = [
    "IsolationFailed",
    "Limits",
    "NoRule",
    "Refused",
    "StrictDecisionEngine",
    "TimedOut",
    "check",
    "configure",
    "current",
    "plain",
    "reason",
    "restricted_engine",
    "run_isolated",
    "strict_decisions",
    "unrestricted_engine",
]
