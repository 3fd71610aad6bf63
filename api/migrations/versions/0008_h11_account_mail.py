"""outbox: case_id nullable, for mail about an account (the e-mail confirming a citizen's registration)

Revision ID: h11_account_mail
Revises: h11_messages
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "h11_account_mail"
down_revision = "h11_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE case_id IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
