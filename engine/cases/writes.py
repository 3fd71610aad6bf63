"""The case row written by one Core statement, without the ORM's unit of work.

A command changes one case row: an INSERT for a new case, else an UPDATE of the columns it set with the
optimistic version check the mapper's `version_id_col` would do (`WHERE id = … AND version = …`, version + 1).
Flushing that through the unit of work cost more Python than the rest of the write; here the columns come
from the instance's own change tracking, the statement is the head of the command's write with its children
(`engine.db.write_with_children`), and the instance is left as the ORM would leave it after a flush (clean,
persistent, in the session, nothing expired).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from engine.cases.case import Case
from engine.db import Batch, insert_rows, table, update_where, written

CASE: sa.Table = table(Case)
COLUMNS: frozenset[str] = frozenset(c.key for c in CASE.columns)
NAME = "c"  # parameter prefix of the case row's statement
_KEYS = frozenset({"id", "version"})  # set by the statement itself, never from the instance


def inserting(case: Case) -> Batch:
    """The INSERT of a transient case (its id from the database), to run as the head of its children
    (`engine.db.write_with_children`); `inserted` then makes the case persistent."""
    return insert_rows(CASE, [_filled(case)], NAME)


def inserted(session: Session, case: Case, case_id: int) -> None:
    """The case written by `inserting` as the ORM would leave it after a flush: persistent in `session`."""
    sa.inspect(case).dict["id"] = case_id
    make_transient_to_detached(case)  # commits every value (each column is set: nothing is left expired)
    session.add(case)


def updating(session: Session, case: Case) -> Batch:
    """The UPDATE of the columns of a persistent case changed since it was loaded, with the optimistic version
    check (`WHERE id = … AND version = …`, version + 1), to run as the head of the command's children.

    The case is marked as its row will then stand (version bumped, nothing left to flush), so that no flush
    writes it through the unit of work meanwhile; `updated` says whether the statement found the row (if not,
    the command's transaction is rolled back, which expires the case)."""
    state = sa.inspect(case)
    values = {key: state.dict[key] for key in state.committed_state if key in COLUMNS and key not in _KEYS}
    names = sorted(values)
    sets = "".join(f"{name} = :{NAME}_{name}, " for name in names)
    sql = f"UPDATE {CASE.name} SET {sets}version = version + 1 WHERE id = :{NAME}_id AND version = :{NAME}_version"
    params = {f"{NAME}_{name}": values[name] for name in names}
    batch = update_where(CASE, sql, {**params, f"{NAME}_id": case.id, f"{NAME}_version": case.version}, NAME)
    state.dict["version"] = case.version + 1
    written(session, case)
    return batch


def updated(case: Case, found: int | None) -> None:
    """After `updating`'s statement: StaleDataError (as from a flush) when it matched no row (another command
    changed the case meanwhile)."""
    if found is None:
        raise StaleDataError(f"complaint {case.id}: version {case.version - 1} was changed by another command")


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
