"""message: the thread of a case, append-only (triggers refuse UPDATE and DELETE, as for the audit trail)

Revision ID: h11_messages
Revises: 0003
Create Date: 2026-11-30

A message is written by the command whose audit event (`event_seq`) carries it, and is never changed:
a correction is another message. The triggers reuse 0002's function on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

from engine.db import JSONType, UTCDateTime

revision = "h11_messages"
down_revision = "h12b_task_proposal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("complaint.id"), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("author_role", sa.String(32), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", JSONType, nullable=False),
    )
    op.create_index("ix_message_case_id", "message", ["case_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER message_append_only BEFORE UPDATE OR DELETE ON message "
            "FOR EACH ROW EXECUTE FUNCTION aduan_refuse_audit_change()"
        )
        op.execute(
            "CREATE TRIGGER message_no_truncate BEFORE TRUNCATE ON message "
            "FOR EACH STATEMENT EXECUTE FUNCTION aduan_refuse_audit_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER message_no_{action.lower()} BEFORE {action} ON message "
            f"BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: {action} on message refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS message_append_only ON message")
        op.execute("DROP TRIGGER IF EXISTS message_no_truncate ON message")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS message_no_{action}")
    op.drop_index("ix_message_case_id", table_name="message")
    op.drop_table("message")
