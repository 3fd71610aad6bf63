"""storage: the indexes of sparse complaint columns leave out the rows where the column is empty

Revision ID: h23_sparse_indexes
Revises: h23_storage
Create Date: 2026-11-30

`reporter_username`, `contact_phone`, `contact_email`, `area` and `next_timer_at` are looked up only by a
value or a range (an account's cases, the cases of an SMS or e-mail sender, an area, the timers due), and
are empty on many rows: anonymous web reports, reporters without a phone, complaints without a place, and
every case with no pending timer (every closed one). Every command writes a new version of the case row
and an entry for it into each of its indexes, so each empty value indexed cost about 20 bytes per closed
case. Each index is made partial (`WHERE column IS NOT NULL`) on both backends; a lookup by value or a
range on the column implies the condition, so the same queries use them (tests/api/test_migrations.py asks
PostgreSQL's planner). On a large table, create each partial index beforehand with CREATE INDEX
CONCURRENTLY under a temporary name to keep writes flowing; this migration drops and creates in place.
"""

import sqlalchemy as sa
from alembic import op

revision = "h23_sparse_indexes"
down_revision = "h23_storage"
branch_labels = None
depends_on = None

SPARSE = ("reporter_username", "contact_phone", "contact_email", "area", "next_timer_at")


def upgrade() -> None:
    for column in SPARSE:
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(f"ix_complaint_{column}", table_name="complaint")
        op.create_index(f"ix_complaint_{column}", "complaint", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for column in SPARSE:
        op.drop_index(f"ix_complaint_{column}", table_name="complaint")
        op.create_index(f"ix_complaint_{column}", "complaint", [column])
