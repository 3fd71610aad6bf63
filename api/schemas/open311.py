"""GeoReport v2 inputs: the form of `POST /requests` and the filters of `GET /requests`.

Every field the standard names is declared (and bounded); anything else is refused, except
`attribute[code]` / `attribute[code][]`, which carry the answers to the service's attributes.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import validate

ATTRIBUTE = re.compile(r"^attribute\[([a-zA-Z0-9_-]{1,64})\](\[\])?$")


def _text(most: int) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(1, most))


class NewRequestSchema(ma.Schema):
    api_key = ma.fields.String(required=True, validate=validate.Length(1, 100))
    service_code = ma.fields.String(required=True, validate=validate.Length(1, 64))
    jurisdiction_id = _text(100)
    lat = ma.fields.Float(allow_nan=False)
    long = ma.fields.Float(allow_nan=False)
    address_string = _text(300)
    address_id = _text(100)
    description = ma.fields.String(validate=validate.Length(0, 4000))
    media_url = _text(500)
    email = ma.fields.Email(validate=validate.Length(max=200))
    phone = ma.fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="a phone number"))
    first_name = _text(100)
    last_name = _text(100)
    device_id = _text(100)
    account_id = _text(100)


class RequestQuerySchema(ma.Schema):
    service_request_id = _text(20_000)
    service_code = _text(2000)
    start_date = ma.fields.AwareDateTime(default_timezone=UTC)
    end_date = ma.fields.AwareDateTime(default_timezone=UTC)
    status = _text(20)
    jurisdiction_id = _text(100)
    api_key = _text(100)


class KeyQuerySchema(ma.Schema):
    jurisdiction_id = _text(100)
    api_key = _text(100)


def split_attributes(form: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str | list[str]]]:
    """The form's ordinary fields (last value each) and its `attribute[...]` answers by code."""
    fields: dict[str, str] = {}
    answers: dict[str, str | list[str]] = {}
    for name, values in form.items():
        match = ATTRIBUTE.fullmatch(name)
        if match is None:
            fields[name] = values[-1]
        else:
            answers[match.group(1)] = values if match.group(2) else values[-1]
    return fields, answers


def comma_list(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]
