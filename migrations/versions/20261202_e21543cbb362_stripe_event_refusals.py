"""Stripe events keep what they claimed and why they were refused; the office settles them

Revision ID: e21543cbb362
Revises: c91a2fbcc78a
Create Date: 2026-12-02 19:40:00

A Checkout Session event is applied only to the order whose own session it is, for a card
order, with the order's total in rupiah (storefront/payments/stripe_gateway.py,
``refusals_for``). Any other event that names an order is kept here with its session, amount,
currency, payment status and the reasons it was refused; the ones that took money are listed on
the office's orders page until a person settles them (``settled_at``/``settled_by``).
"""
from alembic import op
import sqlalchemy as sa


revision = 'e21543cbb362'
down_revision = 'c91a2fbcc78a'
branch_labels = None
depends_on = None

NEEDS_OFFICE = "refusal IS NOT NULL AND payment_status = 'paid' AND settled_at IS NULL"


def upgrade():
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('amount_total', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('payment_status', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('refusal', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('settled_by', sa.String(length=160), nullable=True))
        batch_op.create_index('ix_stripe_events_needs_office', ['received_at'], unique=False,
                              sqlite_where=sa.text(NEEDS_OFFICE), postgresql_where=sa.text(NEEDS_OFFICE))


def downgrade():
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stripe_events_needs_office')
        batch_op.drop_column('settled_by')
        batch_op.drop_column('settled_at')
        batch_op.drop_column('refusal')
        batch_op.drop_column('payment_status')
        batch_op.drop_column('currency')
        batch_op.drop_column('amount_total')
        batch_op.drop_column('session_id')
