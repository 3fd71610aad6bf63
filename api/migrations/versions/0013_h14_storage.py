"""storage: the case's state kept in its row; no second index on event.case_id

Revision ID: h14_storage
Revises: h14_config_version
Create Date: 2026-11-30

PostgreSQL moved the (already zlib-compressed, ~2 KB) state of every case row to TOAST, where each command
left a dead copy that only VACUUM reclaims: 11 KB of TOAST per closed case as written. With storage MAIN
the state stays in the row (it always fits a page), and a page's dead versions are pruned as soon as the
page is visited, without waiting for VACUUM. Dead row versions are vacuumed sooner (5 % instead of 20 %).
`ix_event_case_id` duplicated the leading column of the unique (case_id, seq) index.
"""

from alembic import op

revision = "h14_storage"
down_revision = "h14_config_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_event_case_id", table_name="event")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE complaint ALTER COLUMN state SET STORAGE MAIN")
        op.execute("ALTER TABLE complaint SET (autovacuum_vacuum_scale_factor = 0.05)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE complaint RESET (autovacuum_vacuum_scale_factor)")
        op.execute("ALTER TABLE complaint ALTER COLUMN state SET STORAGE EXTENDED")
    op.create_index("ix_event_case_id", "event", ["case_id"])
