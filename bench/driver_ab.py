"""`aduan bench driver-ab`: what one of the later changes of issue 14 saves, A/B in one run.

The steps of `aduan bench engine`, interleaved over raw SpiffWorkflow and two engine subjects on two scratch
PostgreSQL databases that differ in one thing only (`--compare`):
- `first-column`: in one, `engine.db.first_column` (a command's write and its configuration-token read) goes
  through SQLAlchemy's `Connection.execute`, as before the seventh pass;
- `descriptions`: in one, psycopg builds every result's column descriptions itself, as before the eighth
  pass (`engine.driver.DescribedCursor` not installed on that subject's connections);
- `state-format`: in one, the state is written in format 1 (SpiffWorkflow's converter dicts, compressed with
  `state-1.bin`), as before the eighth pass, and so read back in format 1;
- `one-write`: in one, a command writes its case row and then its children in a second statement, as
  before the tenth pass (five round trips a command instead of four).
Both share every moment of the machine, so a difference of a tenth of a millisecond shows where two separate
`aduan bench engine` runs spread by more than that.
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
DESCRIBED, PSYCOPG = "described once", "psycopg describes"
FORMAT_2, FORMAT_1 = "state format 2", "state format 1"
ONE_WRITE, TWO_WRITES = "one write statement", "case row, then children"
SWAPPED = "first_column"


def through_sqlalchemy(conn: sa.Connection, clause: sa.TextClause, params: dict[str, Any]) -> list[Any]:
    """`engine.db.first_column` as `Connection.execute` runs it."""
    result = conn.execute(clause, params)
    return list(result.scalars()) if result.returns_rows else []


Swap = tuple[Any, str, Any]  # (module, attribute, value while the subject runs)


def through_sqlalchemy_swaps() -> list[Swap]:
    """`first_column` through SQLAlchemy where the engine calls it (snapshot imported it by name)."""
    from engine import db
    from engine.directory import snapshot

    return [(db, SWAPPED, through_sqlalchemy), (snapshot, SWAPPED, through_sqlalchemy)]


def format_1_swaps() -> list[Swap]:
    """The state written as before format 2: the converters' dicts, compressed with `state-1.bin`."""
    import zlib

    import orjson

    from engine.processes import serialization

    def format_1(wf: Any) -> bytes:
        return orjson.dumps(serialization.state_dict(wf), option=orjson.OPT_NON_STR_KEYS)

    primed = zlib.compressobj(1, zdict=(serialization.ZDICT_DIR / "state-1.bin").read_bytes())
    return [(serialization, "state_text", format_1), (serialization, "_PRIMED", primed)]


def two_writes(session: Any, head: Any, batches: list[Any], linked: bool) -> tuple[int | None, list[int]]:
    """`engine.db.write_with_children` as before the tenth pass: the case row, then its children's statement."""
    from engine import db

    session.flush()
    conn = session.connection()
    head_id, batches = db.head_first(conn, head, batches, linked)
    if head_id is None:
        return None, []
    params = {k: v for batch in batches for k, v in batch.params.items()}
    return head_id, db.first_column(conn, db._statement(tuple(b.shape for b in batches), True), params)


def two_writes_swaps() -> list[Swap]:
    """`write_with_children` as two statements where the engine calls it (lifecycle imported it by name)."""
    from engine.cases import lifecycle

    return [(lifecycle, "write_with_children", two_writes)]


@contextmanager
def swapped(swaps: list[Swap]) -> Iterator[None]:
    """Each attribute set to its value for the block, then back."""
    saved = [(module, name, getattr(module, name)) for module, name, _value in swaps]
    for module, name, value in swaps:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


class Variant(steps.Engine):
    """An engine subject whose commands run with some of the engine's functions swapped (none: as shipped)."""

    def __init__(self, name: str, url: str, swaps: list[Swap]) -> None:
        super().__init__(name, url)
        self.swaps = swaps

    def run(self, step: str, i: int, cost: steps.Cost) -> None:
        with swapped(self.swaps):
            super().run(step, i, cost)


class PsycopgDescribes(steps.Engine):
    """An engine subject whose connections keep psycopg's own cursor (descriptions built at every call)."""

    def __init__(self, name: str, url: str) -> None:
        import psycopg

        super().__init__(name, url)
        with self.app.app_context():
            engine = self.db.engine
        engine.dispose()  # the connections made while migrating and seeding had the described cursor

        @sa.event.listens_for(engine, "checkout")
        def plain(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            dbapi_connection.cursor_factory = psycopg.Cursor


@bench.command("driver-ab")
@click.option("--cases", default=150, show_default=True, help="cases per run")
@click.option("--runs", default=3, show_default=True)
@click.option(
    "--postgres-url",
    default="postgresql://postgres@127.0.0.1:5432/aduan_bench_ab",
    show_default=True,
    help="a scratch database name: it and the same name with `_b` are dropped and re-created",
)
@click.option(
    "--compare",
    type=click.Choice(["first-column", "descriptions", "state-format", "one-write"]),
    default="first-column",
    show_default=True,
    help="first-column: the write on the driver's cursor or through SQLAlchemy; descriptions: psycopg's column "
    "descriptions built once per result shape or at every call; state-format: the state in format 2 or 1; "
    "one-write: a command's case row and children in one statement or two",
)
def driver_ab(cases: int, runs: int, postgres_url: str, compare: str) -> None:
    """Client CPU and wall per command with and without one change (`--compare`)."""
    url = sa.make_url(normalize_url(postgres_url))
    other = url.set(database=f"{url.database}_b").render_as_string(hide_password=False)
    shipped: steps.Engine
    before: steps.Engine
    if compare == "descriptions":
        shipped = steps.Engine(DESCRIBED, steps.fresh_postgres(postgres_url))
        before = PsycopgDescribes(PSYCOPG, steps.fresh_postgres(other))
    elif compare == "state-format":
        shipped = steps.Engine(FORMAT_2, steps.fresh_postgres(postgres_url))
        before = Variant(FORMAT_1, steps.fresh_postgres(other), format_1_swaps())
    elif compare == "one-write":
        shipped = steps.Engine(ONE_WRITE, steps.fresh_postgres(postgres_url))
        before = Variant(TWO_WRITES, steps.fresh_postgres(other), two_writes_swaps())
    else:
        shipped = steps.Engine(DRIVER, steps.fresh_postgres(postgres_url))
        before = Variant(THROUGH, steps.fresh_postgres(other), through_sqlalchemy_swaps())
    raw = steps.Raw()
    try:
        steps.print_summary(steps.measured_runs([raw, shipped, before], cases, runs), runs, cases)
    finally:
        shipped.close()
        before.close()
