"""stats: one covering index for `/stats`, so its one query reads an index instead of the wide case rows

Revision ID: h21_stats
Revises: h14_storage
Create Date: 2026-11-30

`/stats` (engine.stats.figures) reads 19 narrow columns of every case in scope; the case row is 3-4 KB (its
workflow state stays in the row), so a scan of 1,000,000 cases read 4 GB of heap. `ix_complaint_stats`
holds those columns (about 150 bytes a case): PostgreSQL answers from the index alone (an index-only scan
once the table is vacuumed; autovacuum does it). Keyed on the submission date: a period is a range of it.
PostgreSQL only (INCLUDE columns); SQLite keeps scanning the table. Not in the models (`engine.db`
UNMODELLED_PREFIXES), like the full-text index. Building it on a large table takes a while and blocks writes
meanwhile: create it beforehand with `CREATE INDEX CONCURRENTLY` (same name and definition) to avoid that;
this migration then finds it.
"""

from alembic import op

revision = "h21_stats"
down_revision = "h14_storage"
branch_labels = None
depends_on = None

COLUMNS = (
    "agency", "desk", "confidential", "category", "kind", "channel", "area", "status", "escalated", "verified_at",
    "first_follow_up_at", "first_follow_up_due_at", "followup_working_days", "verification_working_days",
    "disposition_count", "rerouted_count", "rating", "id",
)  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        included = ", ".join(COLUMNS)
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_complaint_stats ON complaint (created_on) INCLUDE ({included})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_complaint_stats")
