"""The sandbox every diagram evaluation runs in: what it refuses, its budget, its plain messages, and the
killable child process upload checks run in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from engine.calendar.working_days import WorkingCalendar
from engine.processes import sandbox
from engine.processes.sandbox.environment import RestrictedEnvironment, compile_diagram_code
from engine.processes.scripting import CaseEffects, helpers


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment(helpers(WorkingCalendar.default(), CaseEffects()))


@pytest.fixture
def limits() -> Iterator[None]:
    yield
    sandbox.configure(**vars(sandbox.Limits()))


def refused(env: RestrictedEnvironment, code: str, mode: str = "eval") -> str:
    with pytest.raises(Exception) as error:
        if mode == "eval":
            env.evaluate(code, {})
        else:
            env.execute(code, {})
    return sandbox.reason(error.value)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("__import__('os')", '"__import__" is an invalid variable name'),
        ("().__class__.__base__.__subclasses__()", "invalid attribute name"),
        ("working_days.__globals__", '"__globals__" is an invalid attribute name'),
        ("open('/etc/passwd').read()", "name 'open' is not defined"),
        ("getattr(working_days, '_fn')", "name 'getattr' is not defined"),
        ("eval('1')", "Eval calls are not allowed"),
        ("'{0.__class__}'.format(1)", "format*() methods of `str` is not safe"),
        ("f'{1:>999999999}'", "format specifications are constants"),
        ("'x' * (10 * 1024 ** 3)", "would have more than 1000000 items"),
        ("[0] * 10**9", "would have more than 1000000 items"),
        ("'ab'.ljust(10**9)", "would have more than 1000000 items"),
        ("'ab'.replace('', 'x' * 999999)", "would have more than 1000000 items"),
        ("10 ** 10 ** 10", "more than 65536 bits"),
        ("pow(2, 10**9)", "more than 65536 bits"),
        ("1 << 10**9", "more than 65536 bits"),
        ("list(range(10**9))", "range() of more than 100000 numbers"),
        ("'%999999999d' % 1", "%-format widths are constants"),
        ("'%.*f' % (999999999, 1.0)", "%-format widths are constants"),
        ("(x for x in []).gi_frame.f_globals", '"gi_frame" is a restricted name'),
        ("sum(1 for a in range(100000) for b in range(100000))", "evaluation took "),  # steps or seconds
    ],
)
def test_an_expression_cannot_reach_outside_or_grow_without_bound(
    env: RestrictedEnvironment, code: str, reason: str
) -> None:
    assert reason in refused(env, code)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("import os", "__import__ not found"),
        ("while True:\n    pass", "evaluation took "),
        ("s = 'x'\nwhile True:\n    s += s", "would have more than"),
        ("l = [1]\nfor i in range(40):\n    l.extend(l)", "would have more than"),
        ("total = sum([[1] * 100000] * 1000, [])", "would have more than"),
        ("try:\n    pass\nexcept Exception:\n    pass", "try/except is not available"),
        ("working_days.x = 1", "attribute-less object"),
    ],
)
def test_a_script_cannot_import_loop_forever_or_catch_its_own_stop(
    env: RestrictedEnvironment, script: str, reason: str
) -> None:
    assert reason in refused(env, script, "exec")


def test_the_documented_helpers_and_safe_builtins_work(env: RestrictedEnvironment) -> None:
    assert env.evaluate("'%5d|%-3s|%.2f' % (7, 'a', 1.5) + str(17 % 5)", {}) == "    7|a  |1.50" + "2"
    data: dict[str, Any] = {"kind": "complaint", "days": 3}
    script = "due = working_days(days)\nlabels = sorted({k.upper() for k in ['a', 'b']})\ntotal = sum(range(10))"
    env.execute(script, data)
    assert data["due"].startswith("20") and data["labels"] == ["A", "B"] and data["total"] == 45
    assert "working_days" not in data  # helpers do not leak into the task data
    assert env.evaluate("kind == 'complaint' and datetime.fromisoformat(due).year > 2000", data) is True
    assert env.evaluate("str(update_case)", {}) == "<helper update_case>"  # no object repr, no address


def test_the_step_budget_is_a_knob(env: RestrictedEnvironment, limits: None) -> None:
    sandbox.configure(max_steps=1000)
    assert "more than 1000 steps" in refused(env, "x = 0\nfor i in range(5000):\n    x += 1", "exec")
    sandbox.configure(max_steps=10**9, max_seconds=0.2)
    began = time.monotonic()
    assert "longer than 0.2 s" in refused(env, "while True:\n    pass", "exec")
    assert time.monotonic() - began < 2


def test_memory_growth_is_bounded_even_when_each_line_is_small(env: RestrictedEnvironment, limits: None) -> None:
    sandbox.configure(max_memory_growth=64 * 1024**2)
    data = {"l": list(range(100_000))}  # each copy below the size limit; 100 000 copies are 80 GB
    with pytest.raises(sandbox.Refused, match="more than 64 MB of memory"):
        env.execute("copies = [list(l) for i in range(100000)]", data)


def test_compiled_code_is_cached_per_text() -> None:
    first = compile_diagram_code("kind == 'cached-text'", "eval")
    assert compile_diagram_code("kind == 'cached-text'", "eval") is first


def test_messages_drop_object_reprs() -> None:
    assert sandbox.plain("bad <engine.x.Thing object at 0x7f00deadbeef> here") == "bad … here"
    assert len(sandbox.plain("x" * 1000)) == sandbox.environment.MAX_MESSAGE


def _spin() -> None:
    while True:
        pass


def _allocate() -> int:
    return len(bytearray(4 * 1024**3))


def _answer(x: int) -> int:
    return x * 2


def test_an_isolated_check_is_killed_after_its_timeout_and_bounded_in_memory() -> None:
    limits = sandbox.Limits(isolation_timeout=1.0, isolation_memory=512 * 1024**2)
    assert sandbox.run_isolated(_answer, 21, limits=limits) == 42
    began = time.monotonic()
    with pytest.raises(sandbox.TimedOut, match="evaluation took longer than 1 s"):
        sandbox.run_isolated(_spin, limits=limits)
    assert time.monotonic() - began < 5
    with pytest.raises(sandbox.IsolationFailed, match="ran out of memory"):
        sandbox.run_isolated(_allocate, limits=limits)


def test_the_engine_parses_a_text_once_to_tell_whether_it_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision engine asks `validate` of every rule entry at every evaluation; the answer, a fresh
    SyntaxError each time for a text that does not parse, is the same as SpiffWorkflow's own."""
    import ast

    parsed: list[str] = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda text, *a, **k: parsed.append(text) or real_parse(text, *a, **k))
    sandbox._syntax_error.cache_clear()  # texts another test validated would be answered from the cache
    engine = sandbox.restricted_engine({})
    for _ in range(3):
        engine.validate("amount > 5 and zone == 'north'")
    errors = []
    for _ in range(2):
        with pytest.raises(SyntaxError) as error:
            engine.validate("v >= ")
        errors.append(error.value)
    assert parsed == ["amount > 5 and zone == 'north'", "v >= "]
    assert errors[0] is not errors[1] and errors[0].args == errors[1].args
