"""Each village's money: an append-only ledger, its balances, the shop's fee, bank accounts, payouts

Revision ID: 47f870724a52
Revises: e93814acf820
Create Date: 2026-12-03 05:36:55.083203

The ledger is append-only in the database itself: a trigger refuses every UPDATE and DELETE of
``ledger_entries`` (a correction is a new, reversing entry). On PostgreSQL a session may lift the
guard for itself with ``SET LOCAL storefront.ledger_purge = 'on'`` (emptying a test database,
restoring a backup); SQLite has no session settings, so there the trigger is dropped and
re-created around such a purge.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '47f870724a52'
down_revision = 'e93814acf820'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fee_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('basis_points', sa.Integer(), nullable=False),
    sa.Column('set_by', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('basis_points BETWEEN 0 AND 5000', name=op.f('ck_fee_rates_basis_points_in_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_rates'))
    )
    op.create_table('payout_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('minimum_idr', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_batches'))
    )
    op.create_table('bank_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('bank_code', sa.String(length=3), nullable=False),
    sa.Column('account_number', sa.String(length=20), nullable=False),
    sa.Column('holder_name', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('submitted_by', sa.String(length=160), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=160), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('unverified', 'verified', 'rejected')", name=op.f('ck_bank_accounts_status_known')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_bank_accounts_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_accounts'))
    )
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_bank_accounts_village_id_id', ['village_id', 'id'], unique=False)

    op.create_table('village_balances',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('pending_idr', sa.BigInteger(), nullable=False),
    sa.Column('available_idr', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_village_balances_village_id_villages')),
    sa.PrimaryKeyConstraint('village_id', name=op.f('pk_village_balances'))
    )
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('bank_reference', sa.String(length=60), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=160), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('sent', 'paid', 'failed')", name=op.f('ck_payouts_status_known')),
    sa.CheckConstraint('amount_idr > 0', name=op.f('ck_payouts_amount_idr_positive')),
    sa.ForeignKeyConstraint(['bank_account_id'], ['bank_accounts.id'], name=op.f('fk_payouts_bank_account_id_bank_accounts')),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batches.id'], name=op.f('fk_payouts_batch_id_payout_batches')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_payouts_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
    sa.UniqueConstraint('batch_id', 'village_id', name=op.f('uq_payouts_batch_id'))
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payouts_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payouts_village_id'), ['village_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=20), nullable=False),
    sa.Column('bucket', sa.String(length=10), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('goods_idr', sa.BigInteger(), nullable=False),
    sa.Column('shipping_idr', sa.BigInteger(), nullable=False),
    sa.Column('fee_idr', sa.BigInteger(), nullable=False),
    sa.Column('other_idr', sa.BigInteger(), nullable=False),
    sa.Column('fee_basis_points', sa.Integer(), nullable=True),
    sa.Column('village_order_id', sa.Integer(), nullable=True),
    sa.Column('payout_id', sa.Integer(), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('actor_name', sa.String(length=160), nullable=False),
    sa.Column('once_key', sa.String(length=60), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("bucket IN ('pending', 'available')", name=op.f('ck_ledger_entries_bucket_known')),
    sa.CheckConstraint("cause IN ('parcel', 'refund', 'payout', 'adjustment')", name=op.f('ck_ledger_entries_cause_known')),
    sa.CheckConstraint('amount_idr <> 0', name=op.f('ck_ledger_entries_amount_idr_not_zero')),
    sa.CheckConstraint('amount_idr = goods_idr + shipping_idr - fee_idr + other_idr', name=op.f('ck_ledger_entries_parts_add_up')),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_ledger_entries_payout_id_payouts')),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entries.id'], name=op.f('fk_ledger_entries_reverses_id_ledger_entries')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_ledger_entries_village_id_villages')),
    sa.ForeignKeyConstraint(['village_order_id'], ['village_orders.id'], name=op.f('fk_ledger_entries_village_order_id_village_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('once_key', name=op.f('uq_ledger_entries_once_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_ledger_entries_reverses_id'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_payout_id'), ['payout_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_village_id_id', ['village_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_village_order_id'), ['village_order_id'], unique=False)

    _book_existing_parcels()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND current_setting('storefront.ledger_purge', true) = 'on' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'ledger entries are append-only: post a reversing entry instead';
            END $$""")
        op.execute("CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER ledger_entries_no_{verb.lower()} BEFORE {verb} ON ledger_entries "
                       "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: post a reversing entry "
                       "instead'); END")


#: Parcels sold before the ledger existed, booked as the shop books them now (fee 0: there was no
#: fee then). Prepaid parcels of paid orders still on their way are pending; delivered ones
#: (prepaid, or cash on delivery with the cash kept) are earned. Declined and cancelled parcels
#: had their money returned: nothing to book.
_ENTRY = ("INSERT INTO ledger_entries (village_id, cause, bucket, amount_idr, goods_idr, shipping_idr, fee_idr, "
          "other_idr, fee_basis_points, village_order_id, reverses_id, memo, actor_name, once_key, created_at) ")
_PARCELS = ("FROM village_orders vo JOIN orders o ON o.id = vo.order_id "
            "WHERE vo.village_id IS NOT NULL AND vo.refund_state IS NULL ")


def _book_existing_parcels():
    prepaid = "o.payment_method <> 'cod' AND o.status = 'paid' "
    op.execute(_ENTRY + "SELECT vo.village_id, 'parcel', 'pending', vo.subtotal_idr + vo.shipping_idr, "
               "vo.subtotal_idr, vo.shipping_idr, 0, 0, 0, vo.id, NULL, o.number, 'migration', "
               "'pending:' || vo.id, COALESCE(o.paid_at, o.created_at) " + _PARCELS + "AND " + prepaid +
               "AND vo.status IN ('paid', 'accepted', 'packed', 'shipped', 'delivered')")
    op.execute(_ENTRY + "SELECT e.village_id, 'parcel', 'pending', -e.amount_idr, -e.goods_idr, -e.shipping_idr, "
               "0, 0, 0, vo.id, e.id, o.number, 'migration', 'released:' || vo.id, "
               "COALESCE(vo.delivered_at, o.created_at) " + _PARCELS.replace("WHERE", "JOIN ledger_entries e ON "
               "e.once_key = 'pending:' || vo.id WHERE") + "AND vo.status = 'delivered'")
    op.execute(_ENTRY + "SELECT vo.village_id, 'parcel', 'available', vo.subtotal_idr + vo.shipping_idr, "
               "vo.subtotal_idr, vo.shipping_idr, 0, 0, 0, vo.id, NULL, o.number, 'migration', "
               "'earned:' || vo.id, COALESCE(vo.delivered_at, o.created_at) " + _PARCELS +
               "AND vo.status = 'delivered' AND (" + prepaid + "OR o.payment_method = 'cod')")
    op.execute(_ENTRY + "SELECT vo.village_id, 'parcel', 'available', -(vo.subtotal_idr + vo.shipping_idr), "
               "0, 0, 0, -(vo.subtotal_idr + vo.shipping_idr), NULL, vo.id, NULL, "
               "o.number || ': cash collected on delivery', 'migration', 'cod:' || vo.id, "
               "COALESCE(vo.delivered_at, o.created_at) " + _PARCELS +
               "AND vo.status = 'delivered' AND o.payment_method = 'cod'")
    op.execute("INSERT INTO village_balances (village_id, pending_idr, available_idr, updated_at) "
               "SELECT village_id, SUM(CASE WHEN bucket = 'pending' THEN amount_idr ELSE 0 END), "
               "SUM(CASE WHEN bucket = 'available' THEN amount_idr ELSE 0 END), CURRENT_TIMESTAMP "
               "FROM ledger_entries GROUP BY village_id")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION ledger_entries_append_only()")
    else:
        op.execute("DROP TRIGGER ledger_entries_no_update")
        op.execute("DROP TRIGGER ledger_entries_no_delete")
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_village_order_id'))
        batch_op.drop_index('ix_ledger_entries_village_id_id')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_payout_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_created_at'))

    op.drop_table('ledger_entries')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payouts_village_id'))
        batch_op.drop_index(batch_op.f('ix_payouts_batch_id'))

    op.drop_table('payouts')
    op.drop_table('village_balances')
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_accounts_village_id_id')

    op.drop_table('bank_accounts')
    op.drop_table('payout_batches')
    op.drop_table('fee_rates')
