"""Running an upload check in a child process with a wall-clock timeout and resource limits.

The parent sends a function (importable by name) and its plain arguments to a child forked from a
forkserver (which preloads the engine, so a check starts in milliseconds, and is safe to use from the
threads of the API). The child sets RLIMIT_AS and RLIMIT_CPU, runs the function and sends back its
result. Past `timeout` seconds the child is killed and `TimedOut` raised: the calling thread is free
again, whatever the diagram does. Results and errors cross the pipe as plain data, never objects.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from engine.processes.sandbox.limits import Limits, configure, current

T = TypeVar("T")
PRELOAD = ["engine.processes.validation"]


class IsolationFailed(Exception):
    """The isolated check could not finish; the message is plain and safe to show."""


class TimedOut(IsolationFailed):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"evaluation took longer than {seconds:g} s")


_context: Any = None


def _ctx() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def run_isolated(fn: Callable[..., T], *args: Any, limits: Limits | None = None) -> T:
    """`fn(*args)` in a child process under `limits` (default: this process's); TimedOut / IsolationFailed."""
    limits = limits or current()
    ctx = _ctx()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, fn, args, limits), daemon=True)
    try:
        child.start()
    except OSError:  # the forkserver could not start (e.g. a __main__ it cannot import again)
        receiver.close()
        raise IsolationFailed("the sandbox process could not start; try again") from None
    finally:
        sender.close()
    try:
        if not receiver.poll(limits.isolation_timeout):
            raise TimedOut(limits.isolation_timeout)
        try:
            status, value = receiver.recv()
        except EOFError:
            raise IsolationFailed(_death(child)) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if status != "ok":
        raise IsolationFailed(str(value))
    return value  # type: ignore[no-any-return]


def _death(child: Any) -> str:
    child.join(5)
    if child.exitcode is not None and child.exitcode < 0:
        return "evaluation was stopped: it used too much time or memory"
    return "evaluation stopped unexpectedly"


def _child(sender: Connection, fn: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> None:
    configure(**limits.__dict__)
    os.nice(10)  # a runaway check yields the CPU to the API's own threads
    cpu = max(1, math.ceil(limits.isolation_timeout)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.isolation_memory, limits.isolation_memory))
    try:
        result: tuple[str, Any] = ("ok", fn(*args))
    except MemoryError:
        result = ("error", "evaluation ran out of memory")
    except Exception as exc:  # the parent gets a plain reason, never a traceback
        from engine.processes.sandbox.environment import reason

        result = ("error", reason(exc))
    try:
        sender.send(result)
    finally:
        sender.close()
