"""The GeoReport v2 wire format: each document as JSON or XML, and errors as `[{code, description}]`.

JSON answers are lists (a service definition is an object); XML wraps the same items in the standard's
element names (`services/service`, `service_requests/request`, `errors/error`, `service_definition`).
Values: booleans as `true`/`false`, datetimes in W3C format, a missing value as JSON null or an empty
element.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from flask import Response

FORMATS = ("json", "xml")
# the XML root and item element of each kind of list document
LIST_ELEMENTS = {"services": ("services", "service"), "requests": ("service_requests", "request")}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _append(parent: ET.Element, name: str, value: Any) -> None:
    """`value` under `parent` as `<name>`: lists of attributes and values nest as the standard names them."""
    element = ET.SubElement(parent, name)
    if isinstance(value, list):
        child = {"attributes": "attribute", "values": "value"}.get(name, "item")
        for item in value:
            _fill(ET.SubElement(element, child), item)
    elif isinstance(value, dict):
        _fill(element, value)
    else:
        element.text = _text(value)


def _fill(element: ET.Element, item: Any) -> None:
    if isinstance(item, dict):
        for name, value in item.items():
            _append(element, name, value)
    else:
        element.text = _text(item)


def _xml(root: ET.Element, status: int) -> Response:
    """UTF-8 with the declaration the standard asks for (`encoding="UTF-8"`)."""
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    return Response(body.encode(), status=status, content_type="text/xml; charset=utf-8")


def _json(document: Any, status: int) -> Response:
    body = json.dumps(document, default=_text, ensure_ascii=False).encode()
    return Response(body, status=status, content_type="application/json; charset=utf-8")


def render_list(kind: str, items: list[dict[str, Any]], fmt: str, status: int = 200) -> Response:
    """A list document (`services` or `requests`) in `fmt`."""
    if fmt == "json":
        return _json(items, status)
    root_name, item_name = LIST_ELEMENTS[kind]
    root = ET.Element(root_name)
    for item in items:
        _fill(ET.SubElement(root, item_name), item)
    return _xml(root, status)


def render_definition(definition: dict[str, Any], fmt: str) -> Response:
    """A service definition: `{service_code, attributes: [...]}` / `<service_definition>`."""
    if fmt == "json":
        return _json(definition, 200)
    root = ET.Element("service_definition")
    _fill(root, definition)
    return _xml(root, 200)


def render_errors(status: int, descriptions: list[str], fmt: str) -> Response:
    """The standard's error document: one `{code, description}` per problem."""
    errors = [{"code": status, "description": text} for text in descriptions]
    if fmt == "json":
        return _json(errors, status)
    root = ET.Element("errors")
    for error in errors:
        _fill(ET.SubElement(root, "error"), error)
    return _xml(root, status)
