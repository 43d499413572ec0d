"""Default saved address: the one checkout fills in by itself

Revision ID: 72918d504918
Revises: 2234b423d7fe
Create Date: 2026-12-03 08:16:42

A buyer marks one saved address as their default (``addresses.is_default``); checkout fills it
in unless they choose another. At most one per buyer: the service clears the others, and a
partial unique index backs it up. Addresses saved so far are not default (nothing changes for
their owners until they choose one).
"""
from alembic import op
import sqlalchemy as sa


revision = '72918d504918'
down_revision = '2234b423d7fe'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_addresses_one_default', ['user_id'], unique=True,
                              sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))


def downgrade():
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_addresses_one_default')
        batch_op.drop_column('is_default')
