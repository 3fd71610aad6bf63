"""Decision tables read as data: the values each output can produce, and routing rows naming real agencies.

A routing table (an output whose name ends in `agency`, such as `proposed_agency`) may only name
agencies of the directory: a row naming a typo would route complaints to nobody.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree

from engine.processes.checks.diagram import Issue

NO_VALUE = object()


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, kind: str) -> list[etree._Element]:
    return [child for child in element if _local(child) == kind]


def _columns(trees: Mapping[str, etree._Element]) -> Iterator[tuple[str, str, list[tuple[etree._Element, Any]]]]:
    """(file, output name, [(output entry, its literal value or NO_VALUE)]) for every decision table output."""
    for file, root in trees.items():
        if not file.endswith(".dmn"):
            continue
        for table in root.iter():
            if _local(table) != "decisionTable":
                continue
            names = [output.get("name") or "" for output in _children(table, "output")]
            cells: dict[str, list[tuple[etree._Element, Any]]] = {name: [] for name in names}
            for rule in _children(table, "rule"):
                for name, entry in zip(names, _children(rule, "outputEntry"), strict=False):
                    cells[name].append((entry, _literal(entry)))
            for name in names:
                yield file, name, cells[name]


def _literal(entry: etree._Element) -> Any:
    text = "".join(t.text or "" for t in entry if _local(t) == "text").strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return NO_VALUE


def decision_outputs(trees: Mapping[str, etree._Element]) -> dict[str, set[Any]]:
    """The values each decision output can produce, for outputs whose every cell is a literal."""
    values: dict[str, set[Any]] = {}
    unknown: set[str] = set()
    for _, name, cells in _columns(trees):
        if any(value is NO_VALUE or not isinstance(value, str | int | float | bool | None) for _, value in cells):
            unknown.add(name)
        values.setdefault(name, set()).update(value for _, value in cells)
    return {name: found for name, found in values.items() if name not in unknown}


def routing_issues(trees: Mapping[str, etree._Element], agencies: frozenset[str]) -> list[Issue]:
    """Each routing cell naming an agency the directory does not have."""
    issues = []
    for file, name, cells in _columns(trees):
        if not name.endswith("agency"):
            continue
        for entry, value in cells:
            if isinstance(value, str) and value not in agencies:
                message = f"{name} {value!r} is not an agency of the directory: create it first, or fix the code"
                issues.append(Issue(file, message, entry.get("id"), entry.sourceline))
    return issues
