"""Running diagram code: RestrictedPython-compiled, cached per text, within a step and time budget.

`RestrictedEnvironment` replaces SpiffWorkflow's `TaskDataEnvironment`, so every expression and script
the engine evaluates (script tasks, pre/post scripts, gateway conditions, timer expressions, DMN input
and output entries, task properties) goes through `compile_restricted` and the guards of
`engine.processes.sandbox.guards`. Compiled code is cached per (text, mode).

The budget: while diagram code runs, a trace function counts the lines it executes (its own frames
only: helpers and builtins are not traced), checks the clock every 1000 lines and the process's
resident memory every 64 (one read of /proc/self/statm, ~10 µs; the first read sets the baseline, so
the short evaluations of a normal diagram never pay it); past `max_steps`, `max_seconds` or
`max_memory_growth` the evaluation raises `Refused`. Size guards bound what one line can build (a copy
of a list, say), the memory check what a loop of such lines can. We chose tracing over a watchdog thread because an
exception can only be raised into the running thread from inside it, and over signals because the
API runs commands in threads. C-level work that no line event interrupts is bounded by the size
guards instead. Failures surface as `Refused` with a message safe to show: never an object repr.
"""

from __future__ import annotations

import os
import re
import resource
import sys
import threading
import time
from collections.abc import Mapping
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any, Literal

from RestrictedPython.compile import compile_restricted
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from engine.processes.sandbox.guards import GUARDS, SAFE_VALUES, Helper, Policy, Refused
from engine.processes.sandbox.limits import current

FILENAME = "<diagram>"
_CHECK_CLOCK_EVERY = 1000
_CHECK_MEMORY_EVERY = 64
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_REPR = re.compile(r"<[^<>]*(object|function|method|class|module|built-in)[^<>]*>|0x[0-9a-fA-F]+")
MAX_MESSAGE = 200


@lru_cache(maxsize=4096)
def compile_diagram_code(text: str, mode: Literal["eval", "exec"]) -> CodeType:
    """Restricted bytecode for `text` ('eval' or 'exec'); `Refused` with RestrictedPython's reasons."""
    try:
        return compile_restricted(text, FILENAME, mode, policy=Policy)
    except SyntaxError as exc:
        messages = exc.args[0] if exc.args and isinstance(exc.args[0], tuple) else (exc.msg or "invalid syntax",)
        raise Refused(plain("; ".join(str(m) for m in messages))) from None


def check(text: str, mode: Literal["eval", "exec"] = "eval") -> str | None:
    """The reason `text` cannot run in the sandbox, or None when it compiles."""
    try:
        compile_diagram_code(text, mode)
    except Refused as exc:
        return str(exc)
    return None


def plain(message: str) -> str:
    """A message fit to show a process owner: object reprs and addresses removed, one short line."""
    text = _REPR.sub("…", " ".join(str(message).split()))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def reason(exc: BaseException) -> str:
    """Why an evaluation failed, for an incident or a finding."""
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "evaluation ran out of memory"
    if isinstance(exc, RecursionError):
        return "evaluation recursed too deeply"
    detail = plain(str(exc.args[0])) if exc.args and isinstance(exc.args[0], str | int) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak (other systems)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Budget:
    """Counts traced lines of diagram code in this thread and stops it past the limits."""

    def __init__(self, max_steps: int, max_seconds: float, max_memory_growth: int) -> None:
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.steps = 0
        self.deadline = time.monotonic() + max_seconds
        self.memory_ceiling: int | None = None  # set at the first check: short evaluations never read it
        self.max_memory_growth = max_memory_growth

    def trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != FILENAME:
            return None  # helpers and library code are not counted (nor slowed down)
        return self.local

    def local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.steps += 1
            if self.steps > self.max_steps:
                raise Refused(f"evaluation took more than {self.max_steps} steps")
            if self.steps % _CHECK_CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
                raise Refused(f"evaluation took longer than {self.max_seconds:g} s")
            if self.steps % _CHECK_MEMORY_EVERY == 0:
                self.check_memory()
        return self.local

    def check_memory(self) -> None:
        resident = resident_bytes()
        if self.memory_ceiling is None:
            self.memory_ceiling = resident + self.max_memory_growth
        elif resident > self.memory_ceiling:
            raise Refused(f"evaluation needed more than {self.max_memory_growth // 2**20} MB of memory")


_local = threading.local()


def run_bounded(code: CodeType, namespace: dict[str, Any]) -> Any:
    """eval `code` in `namespace` under the budget (nested evaluations share the outer budget)."""
    if getattr(_local, "active", False):
        return eval(code, namespace)  # restricted bytecode, already under a budget
    limits = current()
    budget = _Budget(limits.max_steps, limits.max_seconds, limits.max_memory_growth)
    previous = sys.gettrace()
    _local.active = True
    sys.settrace(budget.trace)
    try:
        return eval(code, namespace)  # restricted bytecode
    finally:
        sys.settrace(previous)
        _local.active = False


class RestrictedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """SpiffWorkflow's task-data environment, evaluating restricted code only.

    `helpers` are the only extra names a diagram sees (besides safe builtins and `datetime`/`timedelta`).
    SpiffWorkflow wraps any failure with its task; show it only through `plain`/`reason`.
    """

    def __init__(self, helpers: Mapping[str, Any] | None = None) -> None:
        wrapped = {name: Helper(name, fn) for name, fn in (helpers or {}).items()}
        super().__init__({**SAFE_VALUES, **wrapped, **GUARDS})

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        code = compile_diagram_code(expression, "eval")
        namespace = {**self.globals, **(external_context or {}), **context}
        return _guarded(code, namespace)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = compile_diagram_code(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update({**self.globals, **(external_context or {})})
        try:
            _guarded(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


def _guarded(code: CodeType, namespace: dict[str, Any]) -> Any:
    # exceptions keep their type (SpiffWorkflow names it in the task error); whoever shows a message
    # passes it through `plain`/`reason`, which drop object reprs
    return run_bounded(code, namespace)
