"""places: complaint point and area, areas, followers (support), full-text search of complaints

Revision ID: h16_places
Revises: 0003
Create Date: 2026-11-30

`latitude`/`longitude` (WGS84, nullable) and `area` on the complaint, with the hot-spot index (one period's
located cases read from the index alone, every column the query needs); the admin-managed `area` table; `complaint_follower` (supporters
and reporters of duplicates). Full-text search of title and body: on PostgreSQL a GIN index on
`to_tsvector('simple', title || ' ' || body)`; on SQLite an external-content FTS5 table kept by triggers.
"""

import sqlalchemy as sa
from alembic import op

from engine.db import JSONType, UTCDateTime

revision = "h16_places"
down_revision = "h13_signin"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE complaint_fts USING fts5(title, body, content='complaint', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER complaint_fts_insert AFTER INSERT ON complaint BEGIN "
    "INSERT INTO complaint_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER complaint_fts_delete AFTER DELETE ON complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER complaint_fts_update AFTER UPDATE OF title, body ON complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO complaint_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "INSERT INTO complaint_fts(complaint_fts) VALUES ('rebuild')",
]
POSTGRES_FTS = "CREATE INDEX ix_complaint_fts ON complaint USING gin (to_tsvector('simple', title || ' ' || body))"


def upgrade() -> None:
    # the columns themselves came with revision h15b_channels (Open311 requests carry a place too)
    op.create_index("ix_complaint_area", "complaint", ["area"])
    hotspot_columns = ["created_on", "latitude", "longitude", "area", "category", "status", "id"]
    op.create_index("ix_complaint_hotspot", "complaint", hotspot_columns)
    op.create_table(
        "area",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("polygon", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_area")),
    )
    op.create_table(
        "complaint_follower",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("contact", JSONType, nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("source_case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["complaint.id"], name=op.f("fk_complaint_follower_case_id_complaint")),
        sa.ForeignKeyConstraint(
            ["source_case_id"], ["complaint.id"], name=op.f("fk_complaint_follower_source_case_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_follower")),
    )
    op.create_index("ix_complaint_follower_case", "complaint_follower", ["case_id", "kind"])
    statements = [POSTGRES_FTS] if op.get_bind().dialect.name == "postgresql" else SQLITE_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_complaint_fts")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER complaint_fts_{trigger}")
        op.execute("DROP TABLE complaint_fts")
    op.drop_index("ix_complaint_follower_case", table_name="complaint_follower")
    op.drop_table("complaint_follower")
    op.drop_table("area")
    op.drop_index("ix_complaint_hotspot", table_name="complaint")
    op.drop_index("ix_complaint_area", table_name="complaint")
