"""channels: the inbound message log; the reporter's contact keys and who typed a complaint in

Revision ID: h15_channels
Revises: 0003
Create Date: 2026-11-30

`channel_message` logs each inbound SMS, WhatsApp or e-mail once per (channel, external id): a repeated
delivery changes nothing. `complaint.contact_phone` / `contact_email` (indexed) let a message find its
sender's cases; they are filled for existing rows from the `reporter` JSON by the same normalisation the
engine uses (engine.cases.case.phone_key / email_key). `complaint.entered_by` names the staff member who typed
in a complaint received by suggestion box, counter, phone or letter.
"""

import sqlalchemy as sa
from alembic import op

from engine.cases.case import contact_keys

revision = "h15_channels"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("contact_phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("entered_by", sa.String(length=64), nullable=True))
        batch.create_index("ix_complaint_contact_phone", ["contact_phone"])
        batch.create_index("ix_complaint_contact_email", ["contact_email"])
    _fill_contact_keys()
    op.create_table(
        "channel_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["complaint.id"], name=op.f("fk_channel_message_case_id_complaint")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_message")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_channel_message_channel")),
    )
    op.create_index(op.f("ix_channel_message_case_id"), "channel_message", ["case_id"])
    op.create_index(op.f("ix_channel_message_sender"), "channel_message", ["sender"])


def _fill_contact_keys() -> None:
    """Existing complaints get their contact keys (in batches: the reporter JSON is read in Python)."""
    complaint = sa.table(
        "complaint", sa.column("id", sa.Integer), sa.column("reporter", sa.JSON),
        sa.column("contact_phone", sa.String), sa.column("contact_email", sa.String),
    )  # fmt: skip
    bind = op.get_bind()
    last = 0
    while True:
        query = sa.select(complaint.c.id, complaint.c.reporter).where(complaint.c.id > last).order_by(complaint.c.id)
        rows = bind.execute(query.limit(1000)).all()
        if not rows:
            return
        for case_id, reporter in rows:
            keys = contact_keys(reporter if isinstance(reporter, dict) else None)
            if any(keys.values()):
                bind.execute(sa.update(complaint).where(complaint.c.id == case_id).values(**keys))
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_message_sender"), table_name="channel_message")
    op.drop_index(op.f("ix_channel_message_case_id"), table_name="channel_message")
    op.drop_table("channel_message")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_index("ix_complaint_contact_email")
        batch.drop_index("ix_complaint_contact_phone")
        batch.drop_column("entered_by")
        batch.drop_column("contact_email")
        batch.drop_column("contact_phone")
