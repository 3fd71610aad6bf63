"""The case row written by one Core statement, without the ORM's unit of work.

A command changes one case row: an INSERT for a new case, else an UPDATE of the columns it set with the
optimistic version check the mapper's `version_id_col` would do (`WHERE id = … AND version = …`, version + 1).
Flushing that through the unit of work cost more Python than the rest of the write; here the columns come
from the instance's own change tracking, the statement from SQLAlchemy's compiled cache, and the instance
is left as the ORM would leave it after a flush (clean, persistent, in the session, nothing expired).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from engine.cases.case import Case
from engine.db import table, written

CASE: sa.Table = table(Case)
COLUMNS: frozenset[str] = frozenset(c.key for c in CASE.columns)
_INSERT = sa.insert(CASE).returning(CASE.c.id)
_UPDATE = sa.update(CASE).where(CASE.c.id == sa.bindparam("_id"), CASE.c.version == sa.bindparam("_version"))


def insert_case(session: Session, case: Case) -> None:
    """INSERT a transient case (its id from the database) and make it persistent in `session`."""
    values = _filled(case)
    case_id = session.connection().execute(_INSERT, values).scalar_one()
    sa.inspect(case).dict["id"] = case_id
    make_transient_to_detached(case)  # commits every value (each column is set: nothing is left expired)
    session.add(case)


def update_case(session: Session, case: Case) -> None:
    """UPDATE the columns of a persistent case changed since it was loaded, checking and bumping its version;
    StaleDataError (as from a flush) when another command changed the row meanwhile."""
    state = sa.inspect(case)
    values = {key: state.dict[key] for key in state.committed_state if key in COLUMNS and key != "version"}
    old = case.version
    params = {**values, "version": old + 1, "_id": case.id, "_version": old}
    result = session.connection().execute(_UPDATE, params)
    if result.rowcount != 1:
        raise StaleDataError(f"complaint {case.id}: version {old} was changed by another command")
    state.dict["version"] = old + 1
    written(session, case)


def _filled(case: Case) -> dict[str, Any]:
    """Every column's value of a new case: what was set, else the column's scalar default, else None (the
    transient instance takes the defaults too, as a flush would give them)."""
    given = sa.inspect(case).dict
    values: dict[str, Any] = {}
    for column in CASE.columns:
        if column.key == "id":
            continue
        default: Any = column.default
        if column.key in given:
            value = given[column.key]
        elif default is not None and default.is_scalar:
            value = default.arg
        elif default is not None and default.is_callable:
            value = default.arg(None)
        else:
            value = None
        given[column.key] = values[column.key] = value
    return values
