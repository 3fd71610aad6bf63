"""round trips: the foreign keys of the rows a command writes with its case are checked at COMMIT

Revision ID: h26_deferred_checks
Revises: h25_state_format
Create Date: 2026-12-01

PostgreSQL only (SQLite keeps its schema: it writes a command's rows one statement at a time, in process).
A command writes its case row and the rows that go with it (event, tasks, messages, follow-ups, outbox) in
one statement, the case row first as a data-modifying CTE (`engine.db.write_with_children`): BEGIN, the
case, that write, COMMIT: four round trips instead of five.

The fourth pass of issue 14 tried that statement and undid it: checked at the end of the statement, the
children's foreign keys read the case row while the statement still held its page pinned, so PostgreSQL
could not take the cleanup lock it needs to prune the case's dead row versions there, and the next new case
found no room on the page (twice the heap as written: `test_closed_cases_share_heap_pages_as_written` counts
10 pages for ten closed cases instead of 5). Checked at COMMIT, once the statement has let go of the page,
the same read prunes as before (5 pages). Integrity is unchanged: a child naming no case still fails, at
COMMIT, and the whole command rolls back.
"""

from alembic import op

revision = "h26_deferred_checks"
down_revision = "h25_state_format"
branch_labels = None
depends_on = None

CHILDREN = ("event", "task", "message", "follow_up", "outbox")  # engine.db.CHECKED_AT_COMMIT


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child in CHILDREN:
        op.execute(f"ALTER TABLE {child} ALTER CONSTRAINT fk_{child}_case_id_complaint DEFERRABLE INITIALLY DEFERRED")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child in CHILDREN:
        op.execute(f"ALTER TABLE {child} ALTER CONSTRAINT fk_{child}_case_id_complaint NOT DEFERRABLE")
