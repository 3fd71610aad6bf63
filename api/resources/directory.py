"""The directory and the working-day calendar: /agencies, /users, /categories, /calendar/holidays.

Staff read the directory and the calendar; only admins change them. Categories are public: the complaint
form lists them before anyone signs in.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require, staff
from api.extensions import db
from api.schemas.directory import (
    AgencyInSchema,
    AgencyPatchSchema,
    AgencySchema,
    CalendarDayInSchema,
    CalendarDaySchema,
    CategoryInSchema,
    CategorySchema,
    HolidayQuerySchema,
    HolidaySchema,
    UserInSchema,
    UserQuerySchema,
    UserSchema,
)
from engine.calendar.days import CalendarDay, DayKind, load_calendar, set_day
from engine.calendar.working_days import DaySource, NamedDay
from engine.cases.access import Actor, Role
from engine.db import utcnow
from engine.directory import agencies as directory
from engine.directory import categories, users
from engine.directory.agencies import Agency, subtree_clause
from engine.directory.users import User

blp = Blueprint("directory", __name__, description="Agencies, users, categories and the working-day calendar")


# Agencies ---------------------------------------------------------------------


@blp.route("/agencies")
class Agencies(MethodView):
    @require()
    @blp.response(200, AgencySchema(many=True))
    def get(self) -> list[Agency]:
        """Every agency, in tree order (each agency before its units)."""
        return sorted(db.session.scalars(sa.select(Agency)), key=lambda agency: agency.code.split("."))

    @require("admin")
    @blp.arguments(AgencyInSchema)
    @blp.response(201, AgencySchema)
    def post(self, data: dict[str, Any]) -> Agency:
        """Add an agency; its code extends its parent's (`batam` → `batam.dinkes`). Admins only."""
        agency = directory.create_agency(db.session(), data["code"], data["name"], data["parent"], data["desk"])
        db.session.commit()
        return agency


@blp.route("/agencies/<code>")
class AgencyByCode(MethodView):
    @require()
    @blp.response(200, AgencySchema)
    def get(self, code: str) -> Agency:
        """One agency; 404 when there is none of that code."""
        return directory.get_agency(db.session(), code)

    @require("admin")
    @blp.arguments(AgencyPatchSchema)
    @blp.response(200, AgencySchema)
    def patch(self, data: dict[str, Any], code: str) -> Agency:
        """Mark an agency `external` (it answers through its own integrated system) or not. Admins only.

        A case disposed to an external agency is handed to its system (a `handed_over` webhook); its
        tasks and deadlines stay in Aduan.
        """
        agency = directory.set_external(db.session(), code, data["external"])
        db.session.commit()
        return agency


# Users ------------------------------------------------------------------------


def visible_users(actor: Actor, role: str | None = None, agency: str | None = None) -> sa.Select[Any]:
    """Users the actor may list, by username; `role` and `agency` (a subtree) narrow the list.

    Admins and auditors see every user. Other staff see, read-only, the users of their own agency and its
    units, so that a supervisor can pick an assignee; staff without an agency see none.
    """
    query = sa.select(User).order_by(User.username)
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        query = query.where(subtree_clause(User.agency, actor.agency))
    if role is not None:
        query = query.where(User.role == role)
    if agency is not None:
        query = query.where(subtree_clause(User.agency, agency))
    return query


@blp.route("/users")
class Users(MethodView):
    @require()
    @blp.arguments(UserQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, UserSchema(many=True))
    def get(self, filters: dict[str, str]) -> list[User]:
        """Users the caller may see, by username.

        Admins and auditors see everyone; other staff see, read-only, the users of their own agency and its
        units (so that a supervisor can pick an assignee). `?role=officer&agency=batam.dlh` narrows the list.
        """
        return list(db.session.scalars(visible_users(staff(), **filters)))

    @require("admin")
    @blp.arguments(UserInSchema)
    @blp.response(201, UserSchema)
    def post(self, data: dict[str, Any]) -> User:
        """Add a user with a role and (for verifiers, officers and supervisors: required) an agency. Admins only."""
        user = users.create_user(db.session(), **data)
        db.session.commit()
        return user


# Categories -------------------------------------------------------------------


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self) -> list[categories.Category]:
        """Every complaint category and its default agency. Public: the complaint form needs it."""
        query = sa.select(categories.Category).order_by(categories.Category.code)
        return list(db.session.scalars(query))

    @require("admin")
    @blp.arguments(CategoryInSchema)
    @blp.response(201, CategorySchema)
    def post(self, data: dict[str, Any]) -> categories.Category:
        """Add a category routed by default to `agency` (none: the verifier decides). Admins only.

        `form` (optional) is a JSON Schema object of extra questions; Open311 publishes it as attributes.
        """
        category = categories.create_category(db.session(), data["code"], data["name"], data["agency"], data["form"])
        db.session.commit()
        return category


# Working-day calendar ---------------------------------------------------------


def named_days(year: int | None) -> list[NamedDay]:
    """The named days of `year` (default: this year) in the calendar in force: days off and working days."""
    calendar = load_calendar(db.session(), current_app.extensions["aduan.settings"])
    year = year or calendar.local_date(utcnow()).year
    rows = db.session.scalars(sa.select(CalendarDay).where(CalendarDay.kind == DayKind.WORKING))
    working = [NamedDay(row.day, row.name, DaySource.WORKING_DAY) for row in rows if row.day.year == year]
    return sorted(calendar.days_off(year) + working, key=lambda named: named.day)


@blp.route("/calendar/holidays")
class Holidays(MethodView):
    @require()
    @blp.arguments(HolidayQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, HolidaySchema(many=True))
    def get(self, query: dict[str, int]) -> list[NamedDay]:
        """The year's days off and configured working days, by date.

        `source` is "public", "collective_leave" or "configured" for a day off and "working_day" for a
        configured extra working day; a day may appear once per source. Ordinary weekends are not listed.
        """
        return named_days(query.get("year"))

    @require("admin")
    @blp.arguments(CalendarDayInSchema)
    @blp.response(201, CalendarDaySchema)
    def post(self, data: dict[str, Any]) -> CalendarDay:
        """Configure a day off or an extra working day. Admins only.

        A day off is e.g. a regional holiday; a working day e.g. a Saturday worked in exchange. It replaces an
        earlier setting of the same day; deadlines already set are not moved.
        """
        day = set_day(db.session(), data["day"], data["kind"], data["name"])
        db.session.commit()
        return day
