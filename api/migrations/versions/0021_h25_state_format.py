"""storage: room in a page for a case's versions, retuned for the smaller state of format 2

Revision ID: h25_state_format
Revises: h24_stats_rollup
Create Date: 2026-12-01

PostgreSQL only (SQLite keeps its schema). A case's workflow state is written in format 2 from this release
on (`engine.processes.compact_codec`): 0.4-0.9 KB a row version instead of 0.6-1.5 KB, so a case's row
is smaller. Whether the next case's row joins a case's page depends on when a read finds the page fuller than
its fillfactor allows and prunes the case's dead versions (h21_storage); at the old 70 the four versions of
a case with a one-sentence body no longer fill the page that far, the next case starts a new page, and a
closed case took a page of its own (8 KB of heap instead of 4). Measured with `aduan bench storage` on 300
cases (1 December 2026), heap per closed case for bodies of 77 / 200 / 350 / 600 characters:

    fillfactor 55: 4 096 / 8 192 / 4 806 / 8 192      61: 2 758 / 4 096 / 8 192 / 4 096
               58: 4 096 / 4 096 / 8 192 / 4 096      62: 4 096 / 4 096 / 4 096 / 4 096
               60: 2 731 / 4 096 / 8 192 / 4 096      63: 4 096 / 4 096 / 4 096 / 4 096
               65: 5 188 / 2 731 / 4 096 / 4 096      70: 8 192 /   -   /   -   / 8 192

63 keeps two cases a page at every length measured, as 70 did with format 1 (all tables: 10 622 / 10 732 /
10 923 / 11 633 B a case against 10 923 / 11 087 / 11 469 / 11 605 with format 1 at 70). Rows written
before the change keep their pages; the setting applies to pages filled from now on.
"""

from alembic import op

revision = "h25_state_format"
down_revision = "h24_stats_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE complaint SET (fillfactor = 63)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE complaint SET (fillfactor = 70)")  # as h21_storage left it
