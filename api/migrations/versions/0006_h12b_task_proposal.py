"""task: what the diagram proposes for a task's form (e.g. the routing decision's agency)

Revision ID: h12b_task_proposal
Revises: 0003
Create Date: 2026-11-30

The verify task shows the agency the routing decision proposed and pre-fills its form with it; the value
is evaluated when the task opens (its `proposal` property) and kept beside the task like its deadline.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "h12b_task_proposal"
down_revision = "h15b_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.add_column("task", sa.Column("proposal", json, nullable=True))


def downgrade() -> None:
    op.drop_column("task", "proposal")
