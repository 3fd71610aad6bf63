"""channels: agency systems (service clients, idempotency keys, external agencies) and Open311

Revision ID: h15b_channels
Revises: 0003
Create Date: 2026-11-30

Service clients of integrated agency systems and the Idempotency-Key records of their commands; the
`external` flag of agencies that answer through their own system; Open311 API keys; a category's intake
form (published as Open311 attributes); and on complaints the answers to that form, a media URL and the
place (`latitude`, `longitude`, `area`: the same columns as the places work adds).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql  # noqa: F401

import engine.db  # noqa: F401  (custom column types)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'h15b_channels'
down_revision = 'h15_channels'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('owner', 'key', name=op.f('pk_idempotency_key'))
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_key_created_at'), ['created_at'], unique=False)

    op.create_table('open311_key',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_open311_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open311_key_key_hash'))
    )
    op.create_table('service_client',
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency'], ['agency.code'], name=op.f('fk_service_client_agency_agency')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_service_client'))
    )
    with op.batch_alter_table('service_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_client_agency'), ['agency'], unique=False)

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('area', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('media_url', sa.String(length=500), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('media_url')
        batch_op.drop_column('attributes')
        batch_op.drop_column('area')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')

    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_column('form')

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('external')

    with op.batch_alter_table('service_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_client_agency'))

    op.drop_table('service_client')
    op.drop_table('open311_key')
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_key_created_at'))

    op.drop_table('idempotency_key')
