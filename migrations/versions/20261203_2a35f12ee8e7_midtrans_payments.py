"""Midtrans: QRIS, virtual accounts and e-wallets beside Stripe

Revision ID: 2a35f12ee8e7
Revises: 853bee66aa38
Create Date: 2026-12-03 08:49:40

Orders may be paid through Midtrans (``orders.payment_method`` 'midtrans') and what Midtrans
reports it took is money received (``payments_received.method`` 'midtrans'): both CHECK
constraints gain the value. New tables: each order's Snap transaction (``midtrans_transactions``)
and the notifications applied, once each (``midtrans_notifications``). Going back, orders and
payments of Midtrans would break the old constraints: the downgrade refuses while any exist.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '2a35f12ee8e7'
down_revision = '853bee66aa38'
branch_labels = None
depends_on = None

#: The values before this revision.
ORDER_METHODS = ('bank_transfer', 'cod', 'stripe')
RECEIVED_METHODS = ('bank_transfer', 'stripe', 'refund')


def _listed(values):
    return ", ".join(f"'{value}'" for value in values)


def _constraints(order_methods, received_methods):
    """Replace the two CHECK constraints (SQLite rebuilds the tables: batch mode)."""
    # 'refund' stays last, as in the model's constraint.
    received_methods = tuple(m for m in received_methods if m != 'refund') + ('refund',)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_orders_payment_method_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_orders_payment_method_known'),
                                         f"payment_method IN ({_listed(order_methods)})")
    with op.batch_alter_table('payments_received', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_received_method_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payments_received_method_known'),
                                         f"method IN ({_listed(received_methods)})")


def upgrade():
    _constraints(ORDER_METHODS + ("midtrans",), RECEIVED_METHODS + ("midtrans",))
    op.create_table('midtrans_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_status', sa.String(length=20), nullable=True),
    sa.Column('fraud_status', sa.String(length=20), nullable=True),
    sa.Column('status_code', sa.String(length=3), nullable=True),
    sa.Column('payment_type', sa.String(length=40), nullable=True),
    sa.Column('gross_amount_idr', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('took_money', sa.Boolean(), nullable=False),
    sa.Column('refusal', sa.String(length=200), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_by', sa.String(length=160), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_midtrans_notifications_order_id_orders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_midtrans_notifications')),
    sa.UniqueConstraint('key', name=op.f('uq_midtrans_notifications_key'))
    )
    with op.batch_alter_table('midtrans_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_midtrans_notifications_order_id'), ['order_id'], unique=False)

    op.create_table('midtrans_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('snap_token', sa.String(length=255), nullable=False),
    sa.Column('redirect_url', sa.String(length=500), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('payment_type', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_midtrans_transactions_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_midtrans_transactions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_midtrans_transactions_order_id'))
    )


def downgrade():
    used = op.get_bind().execute(sa.text(
        "SELECT (SELECT count(*) FROM orders WHERE payment_method = 'midtrans')"
        " + (SELECT count(*) FROM payments_received WHERE method = 'midtrans')")).scalar()
    if used:
        raise RuntimeError("orders or payments of Midtrans exist: the old constraints would refuse them")
    op.drop_table('midtrans_transactions')
    with op.batch_alter_table('midtrans_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_midtrans_notifications_order_id'))

    op.drop_table('midtrans_notifications')
    _constraints(ORDER_METHODS, RECEIVED_METHODS)
