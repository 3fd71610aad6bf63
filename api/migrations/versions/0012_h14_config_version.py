"""config_version: one token row replaced by every configuration change

Revision ID: h14_config_version
Revises: h16_places
Create Date: 2026-11-30

Lifecycle commands keep calendar days, agencies, categories, active versions, webhook endpoints and the
staff directory in memory (engine.directory.snapshot) and check this token instead of reading those tables each time.
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "h14_config_version"
down_revision = "h16_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_version")),
    )
    op.bulk_insert(table, [{"id": 1, "token": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("config_version")
