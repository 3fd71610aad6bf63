"""storage: one covering index for `/stats` and the hot spots on PostgreSQL; no index on event.type

Revision ID: h22_storage
Revises: h21_storage
Create Date: 2026-11-30

Bytes per closed case as written (`aduan bench storage`); every command writes a new entry into each index of
the case row (no update is HOT), so an index of `complaint` costs about four entries per closed case.

* PostgreSQL: `ix_complaint_stats` (created_on) INCLUDE (…) gets `latitude` and `longitude`, so it holds every
  column the hot spots read (engine.places.clusters), and `ix_complaint_hotspot` (a second 7-column index
  keyed on created_on) goes: about 0.4 KB per case. The hot spots stay index-only scans, of the wider index;
  scopes and filters on agency, desk or confidential (officers, the public figures) are now covered too.
  Measured at 1M cases (docs/performance.md, issue 14, h22store): 30-day shapes unchanged, an officer's
  30 days 5x faster, but a window over most of the index is slower (a category over a quarter 1.3x, half a
  year against the half before 1.2x: 0.58 -> 0.71 s), the wider index being read.
  `ix_complaint_created_on` goes as well: the stats index leads with created_on and serves every range or
  order on it. SQLite keeps both indexes (models: `ddl_if(dialect="sqlite")`) and has no stats index.
  On a large table, build the new index beforehand without blocking writes, under the name this migration
  looks for: `CREATE INDEX CONCURRENTLY ix_complaint_stats_h22 ON complaint (created_on) INCLUDE (…)` with the
  columns below; the migration then only drops the old ones and renames it.
* Every backend: `ix_event_type` goes; no query selects events by type alone (a case's events are read by
  (case_id, seq)).
"""

from alembic import op

revision = "h22_storage"
down_revision = "h21_storage"
branch_labels = None
depends_on = None

STATS_COLUMNS = (
    "agency", "desk", "confidential", "category", "kind", "channel", "area", "status", "escalated", "verified_at",
    "first_follow_up_at", "first_follow_up_due_at", "followup_working_days", "verification_working_days",
    "disposition_count", "rerouted_count", "rating", "id",
)  # fmt: skip  (as migration h21_stats created it)
HOTSPOT_COLUMNS = ("created_on", "latitude", "longitude", "area", "category", "status", "id")


def upgrade() -> None:
    op.drop_index("ix_event_type", table_name="event")
    if op.get_bind().dialect.name != "postgresql":
        return
    included = ", ".join((*STATS_COLUMNS, "latitude", "longitude"))
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_complaint_stats_h22 ON complaint (created_on) INCLUDE ({included})")
    op.execute("DROP INDEX IF EXISTS ix_complaint_stats")
    op.execute("ALTER INDEX ix_complaint_stats_h22 RENAME TO ix_complaint_stats")
    op.drop_index("ix_complaint_hotspot", table_name="complaint")
    op.drop_index("ix_complaint_created_on", table_name="complaint")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_complaint_created_on", "complaint", ["created_on"])
        op.create_index("ix_complaint_hotspot", "complaint", list(HOTSPOT_COLUMNS))
        op.execute("DROP INDEX IF EXISTS ix_complaint_stats")
        included = ", ".join(STATS_COLUMNS)
        op.execute(f"CREATE INDEX ix_complaint_stats ON complaint (created_on) INCLUDE ({included})")
    op.create_index("ix_event_type", "event", ["type"])
