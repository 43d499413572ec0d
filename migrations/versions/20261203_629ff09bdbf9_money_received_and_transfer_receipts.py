"""Money received against orders (bank transfers, card payments, refunds) and the buyers' transfer receipts

Revision ID: 629ff09bdbf9
Revises: 47f870724a52
Create Date: 2026-12-03 05:47:41.005686

``payments_received`` is append-only (a correction is a new row): what an order received is the
sum of its rows, refunds negative. The same bank reference cannot be recorded twice for one
order (unique ``order_id, method, reference``). ``transfer_receipts`` holds each "I have
transferred" of a buyer, with the private file name of the receipt when one was attached.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '629ff09bdbf9'
down_revision = '47f870724a52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payments_received',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('recorded_by', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("method <> 'refund' OR amount_idr < 0", name=op.f('ck_payments_received_refund_is_negative')),
    sa.CheckConstraint("method IN ('bank_transfer', 'stripe', 'refund')", name=op.f('ck_payments_received_method_known')),
    sa.CheckConstraint('amount_idr <> 0', name=op.f('ck_payments_received_amount_idr_not_zero')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_received_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments_received')),
    sa.UniqueConstraint('order_id', 'method', 'reference', name=op.f('uq_payments_received_order_id'))
    )
    op.create_table('transfer_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_transfer_receipts_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_receipts')),
    sa.UniqueConstraint('key', name=op.f('uq_transfer_receipts_key'))
    )
    with op.batch_alter_table('transfer_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_receipts_order_id'), ['order_id'], unique=False)
    # Orders paid before money was recorded against them received their total, on the day they
    # were marked paid (that day in WITA, UTC+8 all year).
    if op.get_bind().dialect.name == "postgresql":
        day = "(COALESCE(paid_at, created_at) AT TIME ZONE 'Asia/Makassar')::date"
    else:
        day = "date(COALESCE(paid_at, created_at), '+8 hours')"
    op.execute("INSERT INTO payments_received (order_id, method, amount_idr, received_on, reference, recorded_by, "
               f"created_at) SELECT id, payment_method, total_idr, {day}, "
               "COALESCE(stripe_payment_intent, 'before-' || number), 'migration', CURRENT_TIMESTAMP "
               "FROM orders WHERE status = 'paid' AND payment_method IN ('bank_transfer', 'stripe') AND total_idr > 0")


def downgrade():
    with op.batch_alter_table('transfer_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_receipts_order_id'))

    op.drop_table('transfer_receipts')
    op.drop_table('payments_received')
