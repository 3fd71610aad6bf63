"""task: index the inbox by deadline (state, role, due_at, created_at)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

An inbox lists the READY tasks of one role in an agency's subtree, earliest deadline first, 100 at a time.
`ix_task_inbox` (state, role, agency, due_at) cannot give that order for a subtree (agency = X or LIKE
'X.%'), so at 100 000 open cases PostgreSQL scanned and sorted every READY task of the role (35 ms). This
index is walked in deadline order and stops at the 100th task in the subtree (1-3 ms; docs/performance.md).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_inbox_due", "task", ["state", "role", "due_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_inbox_due", table_name="task")
