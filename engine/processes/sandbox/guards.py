"""What restricted diagram code may touch: RestrictedPython's policy, with size guards on top.

RestrictedPython already refuses imports, names and attributes starting with `_`, `exec`/`eval`, and
routes attribute reads, item reads, iteration and writes through the guards below. We add one thing to
its compiler: `+`, `*`, `**`, `<<` and `%` (and their augmented forms) go through `_binop_`, which refuses
results larger than the limits before computing them, because a single C-level `"x" * 10**10` can
neither be traced nor interrupted.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.processes.sandbox.limits import current


class Refused(Exception):
    """The diagram asked for something the sandbox does not allow; the message is plain and safe to show."""


GUARDED_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%",
}  # fmt: skip
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "*": operator.mul,
    "**": operator.pow,
    "<<": operator.lshift,
    "%": operator.mod,
}
# a %-format with a width or precision of 5+ digits, or taken from the arguments (`*`)
_WIDE_PERCENT = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d{5,})|%(\([^)]*\))?[-#0 +]*\d*\.(\*|\d{5,})")
_SIZED = (str, bytes, list, tuple)


class Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus guarded growth operators and constant-width format specs."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(ast.Name("_binop_", ast.Load()), [ast.Constant(symbol), node.left, node.right], [])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_Try(self, node: ast.AST) -> ast.AST:
        # a budget or size refusal must end the evaluation, not be caught by the code it stops
        self.error(node, "try/except is not available in diagram code")
        return node

    visit_TryStar = visit_Try

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            texts = [p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
            if len(texts) != len(parts) or any(len(d) > 4 for t in texts for d in _digit_runs(t)):
                self.error(node, "format specifications are constants with widths below 10000")
        return self.node_contents_visit(node)


def _digit_runs(text: str) -> list[str]:
    runs, run = [], ""
    for char in text + " ":
        if char.isdigit():
            run += char
        elif run:
            runs.append(run)
            run = ""
    return runs


def _check_size(n: int, what: str = "a value") -> None:
    if n > current().max_size:
        raise Refused(f"{what} would have more than {current().max_size} items")


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def binop(symbol: str, left: Any, right: Any) -> Any:
    """`left <symbol> right`, refused when the result would exceed the size limits."""
    limit = current().max_int_bits
    if symbol == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
        _check_size(len(left) + len(right))
    elif symbol == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SIZED) and isinstance(times, int):
                _check_size(len(seq) * max(times, 0))
        if isinstance(left, int) and isinstance(right, int) and _int_bits(left) + _int_bits(right) > limit:
            raise Refused(f"a number would have more than {limit} bits")
    elif symbol == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        if math.log2(max(abs(left), 2)) * right > limit:
            raise Refused(f"a number would have more than {limit} bits")
    elif symbol == "%" and isinstance(left, str) and _WIDE_PERCENT.search(left):
        raise Refused("%-format widths are constants below 10000")
    elif symbol == "<<" and isinstance(left, int) and isinstance(right, int) and _int_bits(left) + right > limit:
        raise Refused(f"a number would have more than {limit} bits")
    return _OPS[symbol](left, right)


_INPLACE = {"+=": "+", "*=": "*", "**=": "**", "<<=": "<<", "%=": "%"}


def inplacevar(op: str, left: Any, right: Any) -> Any:
    """`left op= right` for RestrictedPython's `_inplacevar_`: the guarded operators, and the plain rest."""
    if op in _INPLACE:
        return binop(_INPLACE[op], left, right)
    plain = {"-=": operator.sub, "/=": operator.truediv, "//=": operator.floordiv,
             ">>=": operator.rshift, "&=": operator.and_, "|=": operator.or_, "^=": operator.xor}  # fmt: skip
    if op not in plain:
        raise Refused(f"the operator {op} is not allowed")
    return plain[op](left, right)


# String methods that grow their result are wrapped; `format` is refused (it reaches attributes).
def _replace(s: str) -> Callable[..., str]:
    def replace(old: str, new: str, count: int = -1) -> str:
        hits = s.count(old) if old else len(s) + 1
        hits = hits if count < 0 else min(hits, count)
        _check_size(len(s) + hits * max(len(new) - len(old), 0), "a text")
        return s.replace(old, new, count)

    return replace


def _widen(method: Callable[..., str]) -> Callable[..., str]:
    def widened(width: int, *args: Any) -> str:
        _check_size(int(width), "a text")
        return method(width, *args)

    return widened


def _join(s: str) -> Callable[[Iterable[Any]], str]:
    def join(items: Iterable[Any]) -> str:
        parts = list(items)
        _check_size(sum(len(p) for p in parts if isinstance(p, str)) + len(s) * len(parts), "a text")
        return s.join(parts)

    return join


def _expandtabs(s: str) -> Callable[..., str]:
    def expandtabs(tabsize: int = 8) -> str:
        _check_size(len(s) * max(int(tabsize), 1), "a text")
        return s.expandtabs(tabsize)

    return expandtabs


_STR_WRAPPERS: dict[str, Callable[[str], Callable[..., Any]]] = {
    "replace": _replace,
    "join": _join,
    "expandtabs": _expandtabs,
    **{name: (lambda s, n=name: _widen(getattr(s, n))) for name in ("ljust", "rjust", "center", "zfill")},  # type: ignore[misc]
}


def guarded_getattr(obj: Any, name: str) -> Any:
    """Attribute reads: no `_` names, no `format`, size-checked string methods (see RestrictedPython.Guards)."""
    if isinstance(obj, str) and name in _STR_WRAPPERS:
        return _STR_WRAPPERS[name](obj)
    if isinstance(obj, list) and name in ("extend", "insert"):
        return guarded_list_method(name, obj)
    return safer_getattr_raise(obj, name)  # type: ignore[no-untyped-call]


def guarded_getiter(obj: Any) -> Iterator[Any]:
    return iter(obj)


def limited_range(*args: int) -> range:
    """`range`, at most `max_range` numbers long."""
    result = range(*args)
    if len(result) > current().max_range:
        raise Refused(f"range() of more than {current().max_range} numbers")
    return result


def guarded_sum(items: Iterable[Any], start: Any = 0) -> Any:
    """`sum`, each addition size-checked (C's `sum` of lists or texts would grow unchecked)."""
    total = start
    for item in items:
        total = binop("+", total, item)
    return total


def guarded_list_method(name: str, items: list[Any]) -> Callable[..., Any]:
    """`extend` and `insert` of a list, refusing a list over the size limit (`l.extend(l)` doubles it)."""
    method = getattr(items, name)

    def guarded(*args: Any) -> Any:
        added = args[-1] if name == "extend" else [None]
        added = added if hasattr(added, "__len__") else list(added)
        _check_size(len(items) + len(added))
        return method(*args[:-1], added) if name == "extend" else method(*args)

    return guarded


def limited_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    return pow(base, exp, mod) if mod is not None else binop("**", base, exp)


_EXTRA_BUILTINS: dict[str, Any] = {
    "range": limited_range,
    "pow": limited_pow,
    "list": list,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "tuple": tuple,
    "sorted": sorted,
    "reversed": reversed,
    "enumerate": enumerate,
    "zip": zip,
    "map": map,
    "filter": filter,
    "min": min,
    "max": max,
    "sum": guarded_sum,
    "any": any,
    "all": all,
}
_DROPPED = ("setattr", "delattr", "id", "hash", "__build_class__", "_getattr_", "repr")

SAFE_BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in _DROPPED} | _EXTRA_BUILTINS

GUARDS: dict[str, Any] = {
    "__builtins__": SAFE_BUILTINS,
    "_getattr_": guarded_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": guarded_getiter,
    "_write_": full_write_guard,
    "_inplacevar_": inplacevar,
    "_binop_": binop,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
}


class Helper:
    """A documented helper as diagram code sees it: callable, with a plain repr and nothing else to reach."""

    __slots__ = ("_fn", "_name")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self._name, self._fn = name, fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<helper {self._name}>"


# plain values a diagram may use besides the helpers (classes: attribute reads go through the guard)
SAFE_VALUES: dict[str, Any] = {"datetime": datetime, "timedelta": timedelta}
