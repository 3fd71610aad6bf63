"""Schemas of the directory (agencies, users, categories) and the working-day calendar.

Load schemas (`…InSchema`, `…QuerySchema`) reject unknown fields, bound every string and publish the engine's
code and username formats as OpenAPI patterns; the engine checks what needs the database (unknown parent,
taken username). Dump schemas never carry a password or its hash.
"""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import validate

from engine.calendar.days import DayKind
from engine.calendar.working_days import DaySource
from engine.cases.access import Role
from engine.directory import agencies as directory
from engine.directory import categories, users

_SEGMENT = directory.CODE_SEGMENT.pattern.removeprefix("^").removesuffix("$")
AGENCY_CODE = validate.Regexp(
    rf"^{_SEGMENT}(\.{_SEGMENT})*$", error="lower-case letters, digits and '-', dot-separated"
)
USERNAME = validate.Regexp(users.USERNAME, error="2-64 lower-case letters, digits, '.', '_' or '-'")
CATEGORY_CODE = validate.Regexp(categories.CODE, error="lower-case letters, digits, '_' or '-', at most 64")
FIRST_YEAR, LAST_YEAR = 1946, 2100  # the years the Indonesian holiday tables cover


def single_line(value: str) -> None:
    """Python's `$` also matches before a final newline; an identifier never ends in one."""
    if "\n" in value:
        raise ma.ValidationError("must be a single line")


class AgencyInSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=[validate.Length(1, 200), AGENCY_CODE, single_line])
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    parent = ma.fields.String(load_default=None, validate=validate.Length(1, 200))
    desk = ma.fields.Boolean(load_default=False, metadata={"description": "hosts the verifiers of its jurisdiction"})


class AgencySchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    parent = ma.fields.String(attribute="parent_code", allow_none=True)
    desk = ma.fields.Boolean(required=True)
    external = ma.fields.Boolean(required=True, metadata={"description": "answers through its own system"})


class AgencyPatchSchema(ma.Schema):
    external = ma.fields.Boolean(
        required=True, metadata={"description": "cases disposed to it are handed to its integrated system"}
    )


class UserInSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=[validate.Length(2, 64), USERNAME, single_line])
    role = ma.fields.Enum(Role, by_value=True, required=True)
    agency = ma.fields.String(load_default=None, validate=validate.Length(1, 200))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(8, 200))
    name = ma.fields.String(load_default="", validate=validate.Length(max=200))
    email = ma.fields.Email(load_default=None, validate=validate.Length(max=200))
    phone = ma.fields.String(load_default=None, validate=validate.Length(1, 40))


class UserQuerySchema(ma.Schema):
    role = ma.fields.Enum(Role, by_value=True)
    agency = ma.fields.String(validate=validate.Length(1, 200), metadata={"description": "this agency's subtree"})


class UserSchema(ma.Schema):
    username = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    agency = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()


class CategoryInSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=[validate.Length(1, 64), CATEGORY_CODE, single_line])
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    agency = ma.fields.String(
        load_default=None, validate=validate.Length(1, 200), metadata={"description": "default route"}
    )
    form = ma.fields.Dict(
        load_default=None, metadata={"description": "JSON Schema (an object) of the category's extra questions"}
    )


class CategorySchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    agency = ma.fields.String(allow_none=True)
    form = ma.fields.Dict(allow_none=True)


class HolidayQuerySchema(ma.Schema):
    year = ma.fields.Integer(
        validate=validate.Range(FIRST_YEAR, LAST_YEAR), metadata={"description": "default: this year"}
    )


class HolidaySchema(ma.Schema):
    day = ma.fields.Date(required=True)
    name = ma.fields.String(required=True)
    source = ma.fields.Enum(DaySource, by_value=True, required=True)


class CalendarDayInSchema(ma.Schema):
    day = ma.fields.Date(required=True, validate=validate.Range(date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)))
    kind = ma.fields.Enum(DayKind, by_value=True, required=True)
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))


class CalendarDaySchema(ma.Schema):
    day = ma.fields.Date(required=True)
    kind = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
