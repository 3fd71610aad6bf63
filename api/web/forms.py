"""A task's form rendered from its JSON Schema, and the posted form turned back into the task's data.

Rendered on the server, so it works without JavaScript: `enum` → a select, `boolean` → a checkbox,
`string` → an input (a textarea past 200 characters), `integer`/`number` → a number input; the formats
`agency` and `agency-unit` → a select of the directory. Requirements of `allOf: [{if, then}]` are shown
next to the fields they concern. The engine validates the data against the schema anyway; its errors
are shown by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from api.web import i18n

LONG_TEXT = 200
# Case facts a form may offer to change: they start with the case's current value, so leaving them
# untouched keeps them (an unticked "anonymous" box must not reveal an anonymous reporter).
CASE_FACTS = ("agency", "category", "kind", "anonymous", "confidential")


@dataclass
class Field:
    name: str
    widget: str  # select | checkbox | textarea | text | number
    label: str
    help: str = ""
    required: bool = False
    required_when: dict[str, list[Any]] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    max_length: int | None = None

    @property
    def condition_text(self) -> str:
        """The condition in words: "Required when Decision = Accept"."""
        parts = [
            f"{i18n.FIELD.get(name, name)} = {' / '.join(str(i18n.label(i18n.CHOICE, v)) for v in values)}"
            for name, values in self.required_when.items()
        ]
        return _("Required when %(condition)s", condition=_(" and ").join(parts)) if parts else ""


def conditional_requirements(schema: Mapping[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """`allOf: [{if: {properties: {x: {const|enum}}}, then: {required: [...]}}]` → field → {x: values}."""
    found: dict[str, dict[str, list[Any]]] = {}
    for rule in schema.get("allOf", []):
        condition, then = rule.get("if", {}), rule.get("then", {})
        values: dict[str, list[Any]] = {}
        for name, spec in condition.get("properties", {}).items():
            if "const" in spec:
                values[name] = [spec["const"]]
            elif "enum" in spec:
                values[name] = list(spec["enum"])
        for required in then.get("required", []):
            found.setdefault(required, {}).update(values)
    return found


def fields(
    form_name: str,
    schema: Mapping[str, Any],
    values: Mapping[str, Any],
    choices: Mapping[str, list[tuple[str, str]]],
) -> list[Field]:
    """The fields of `schema`, filled with `values`; `choices` gives the options of a format or a name."""
    required = set(schema.get("required", []))
    conditional = conditional_requirements(schema)
    stem = form_name.split(".", 1)[0]
    result = []
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        label = str(i18n.FIELD.get(name, prop.get("title", name)))
        help_text = str(i18n.FIELD_HELP.get(f"{stem}.{name}", prop.get("description", "")))
        item = Field(name, "text", label, help_text, name in required, conditional.get(name, {}))
        item.value = values.get(name, prop.get("default"))
        item.max_length = prop.get("maxLength")
        kind = prop.get("type")
        if "enum" in prop:
            item.widget = "select"
            item.options = [(str(v), str(i18n.label(i18n.CHOICE, v))) for v in prop["enum"]]
        elif kind == "boolean":
            item.widget = "checkbox"
        elif kind in ("integer", "number"):
            item.widget = "number"
        elif prop.get("format") in choices or name in choices:
            item.widget = "select"
            item.options = choices.get(prop.get("format", ""), choices.get(name, []))
        elif (item.max_length or 0) > LONG_TEXT:
            item.widget = "textarea"
        result.append(item)
    return result


def data_from_form(schema: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as task data: blanks left out, booleans from their checkboxes, numbers parsed."""
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        kind = prop.get("type")
        if kind == "boolean":
            data[name] = form.get(name) == "on"
            continue
        text = form.get(name, "").strip()
        if not text:
            continue
        data[name] = _number(text, kind) if kind in ("integer", "number") else text
    return data


def _number(text: str, kind: str) -> Any:
    """The number in `text`; the text itself when it is none (the engine then names the field)."""
    try:
        return int(text) if kind == "integer" else float(text)
    except ValueError:
        return text


def initial_values(schema: Mapping[str, Any], case: Any) -> dict[str, Any]:
    """Start values: the case's current facts for the properties that would change them."""
    props = schema.get("properties", {})
    return {name: getattr(case, name) for name in CASE_FACTS if name in props and getattr(case, name) is not None}
