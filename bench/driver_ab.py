"""`aduan bench driver-ab`: what running a command's statements on the driver's cursor saves, A/B in one run.

The steps of `aduan bench engine`, interleaved over raw SpiffWorkflow and two engine subjects on two scratch
PostgreSQL databases that differ in one thing only: in one, `engine.db.first_column` (a command's write and
its configuration-token read) goes through SQLAlchemy's `Connection.execute`, as before the seventh pass of
issue 14. Both share every moment of the machine, so a difference of a few tenths of a millisecond shows
where two separate `aduan bench engine` runs spread by more than that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa

from bench import bench
from bench import engine_steps as steps
from engine.db import normalize_url

DRIVER, THROUGH = "driver's cursor", "through SQLAlchemy"
SWAPPED = "first_column"


def through_sqlalchemy(conn: sa.Connection, clause: sa.TextClause, params: dict[str, Any]) -> list[Any]:
    """`engine.db.first_column` as `Connection.execute` runs it."""
    result = conn.execute(clause, params)
    return list(result.scalars()) if result.returns_rows else []


@contextmanager
def swapped(impl: Any) -> Iterator[None]:
    """`first_column` replaced by `impl` where the engine calls it, for the block."""
    from engine import db
    from engine.directory import snapshot

    saved = db.first_column
    modules = (db, snapshot)  # snapshot imported the function by name
    for module in modules:
        setattr(module, SWAPPED, impl)
    try:
        yield
    finally:
        for module in modules:
            setattr(module, SWAPPED, saved)


class Variant(steps.Engine):
    """An engine subject whose commands run with `first_column` through SQLAlchemy (or as shipped)."""

    def __init__(self, name: str, url: str, impl: Any | None) -> None:
        super().__init__(name, url)
        self.impl = impl

    def run(self, step: str, i: int, cost: steps.Cost) -> None:
        if self.impl is None:
            super().run(step, i, cost)
            return
        with swapped(self.impl):
            super().run(step, i, cost)


@bench.command("driver-ab")
@click.option("--cases", default=150, show_default=True, help="cases per run")
@click.option("--runs", default=3, show_default=True)
@click.option(
    "--postgres-url",
    default="postgresql://postgres@127.0.0.1:5432/aduan_bench_ab",
    show_default=True,
    help="a scratch database name: it and the same name with `_b` are dropped and re-created",
)
def driver_ab(cases: int, runs: int, postgres_url: str) -> None:
    """Client CPU and wall per command with the write on the driver's cursor and through SQLAlchemy."""
    url = sa.make_url(normalize_url(postgres_url))
    shipped = Variant(DRIVER, steps.fresh_postgres(postgres_url), None)
    other = url.set(database=f"{url.database}_b").render_as_string(hide_password=False)
    before = Variant(THROUGH, steps.fresh_postgres(other), through_sqlalchemy)
    raw = steps.Raw()
    try:
        steps.print_summary(steps.measured_runs([raw, shipped, before], cases, runs), runs, cases)
    finally:
        shipped.close()
        before.close()
