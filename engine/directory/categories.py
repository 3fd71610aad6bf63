"""Complaint categories (a topic list) and the agency each one is usually routed to."""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases import forms
from engine.db import Base, JSONType
from engine.directory.agencies import Agency
from engine.errors import InvalidData, InvalidProcess

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Category(Base):
    """A topic a reporter picks (kebersihan, parkir, …); `agency` is the default route, None = verifier decides."""

    __tablename__ = "category"

    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    agency: Mapped[str | None] = mapped_column(sa.ForeignKey("agency.code"))
    # extra questions of this category's intake (a JSON Schema object); Open311 publishes them as attributes
    form: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


def create_category(
    session: Session, code: str, name: str, agency: str | None = None, form: dict[str, Any] | None = None
) -> Category:
    """Add a category (flushes; the caller commits); `form` must be a JSON Schema of an object."""
    errors: dict[str, list[str]] = {}
    if not CODE.fullmatch(code):
        errors["code"] = ["lower-case letters, digits, '_' or '-', at most 64"]
    elif session.get(Category, code) is not None:
        errors["code"] = [f"{code!r} exists"]
    if agency is not None and session.get(Agency, agency) is None:
        errors["agency"] = [f"no agency {agency!r}"]
    if form is not None:
        try:
            forms.parse_schema("form", json.dumps(form))
        except InvalidProcess as exc:
            errors["form"] = exc.errors["form"]
    if errors:
        raise InvalidData("invalid category", errors)
    category = Category(code=code, name=name, agency=agency, form=form)
    session.add(category)
    session.flush()
    return category
