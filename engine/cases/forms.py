"""Task forms: the JSON Schema a diagram names for each user task, and validation of submitted data.

Two formats need the directory: `agency` (an existing agency) and `agency-unit` (a unit below the
case's current agency). They are checked with a `FormatChecker` built for the command's context.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from engine.errors import InvalidData, InvalidProcess

FORMS_PROPERTY = "formJsonSchemaFilename"


def parse_schema(filename: str, text: str) -> dict[str, Any]:
    """Load and check one form schema file; InvalidProcess names the file and the problem."""
    try:
        schema = json.loads(text)
        Draft202012Validator.check_schema(schema)
    except (json.JSONDecodeError, SchemaError) as exc:
        raise InvalidProcess(f"invalid form schema {filename}", {filename: [str(exc).splitlines()[0]]}) from exc
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise InvalidProcess(f"invalid form schema {filename}", {filename: ['the root must be {"type": "object"}']})
    return schema


def with_defaults(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` plus the `default` of every top-level property it leaves out."""
    filled = dict(data)
    for name, prop in schema.get("properties", {}).items():
        if name not in filled and isinstance(prop, dict) and "default" in prop:
            filled[name] = prop["default"]
    return filled


def validate(
    schema: Mapping[str, Any], data: Any, formats: Mapping[str, Callable[[object], bool]] | None = None
) -> dict[str, Any]:
    """Validated form data with defaults applied, or InvalidData mapping each field to its messages."""
    if not isinstance(data, dict):
        raise InvalidData("task data must be an object", {"data": ["must be an object"]})
    checker = FormatChecker()
    for name, check in (formats or {}).items():
        checker.checks(name)(check)
    filled = with_defaults(schema, data)
    errors: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema, format_checker=checker).iter_errors(filled):
        field = _field_of(error.path, error.validator, error.validator_value, error.instance)
        errors.setdefault(field, []).append(error.message)
    if errors:
        raise InvalidData("invalid task data", errors)
    return filled


def _field_of(path: Any, validator: Any, value: Any, instance: Any) -> str:
    """The field an error is about: its path, or the missing/unexpected property it names."""
    if path:
        return ".".join(str(p) for p in path)
    if validator == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        return missing[0] if missing else "data"
    if validator == "additionalProperties" and isinstance(instance, dict):
        return "data"
    return "data"
