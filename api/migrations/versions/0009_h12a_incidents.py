"""incident: cases (or intakes) the engine could not carry on, open until the case moves on

Revision ID: h12a_incidents
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "h12a_incidents"
down_revision = "h11_account_mail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("complaint.id"), nullable=True),
        sa.Column("tracking_id", sa.String(20), nullable=True),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("process_version", sa.Integer(), nullable=False),
        sa.Column("element", sa.String(255), nullable=True),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_incident_resolved_at", "incident", ["resolved_at"])
    op.create_index(
        "ix_incident_open",
        "incident",
        ["case_id"],
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_incident_open", table_name="incident")
    op.drop_index("ix_incident_resolved_at", table_name="incident")
    op.drop_table("incident")
