"""storage: the audit event's data as `json` (its text), not `jsonb`, on PostgreSQL

Revision ID: h22_event_json
Revises: h22_storage
Create Date: 2026-11-30

An event's data is written once and read whole (a case's timeline, exports, the chain's verification, which
hashes the canonical JSON Python builds, not the database's form); no query looks inside it. `jsonb`'s
binary form, made for such queries, takes 513 B for the 456 B of text an average event of a closed case
holds (`aduan bench storage`): four events a case, about 0.23 KB per closed case. Python reads the same
dicts back (keys in the order written rather than jsonb's order; nothing depends on it).

The type change rewrites the table (an ACCESS EXCLUSIVE lock for the time it takes): on a large production
table, run it in a maintenance window. SQLite stores JSON as text already: nothing to do there.
"""

from alembic import op

revision = "h22_event_json"
down_revision = "h22_storage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE event ALTER COLUMN data TYPE json USING data::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE event ALTER COLUMN data TYPE jsonb USING data::jsonb")
