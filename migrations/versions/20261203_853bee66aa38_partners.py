"""Partners: accounts, API keys, the audit of their reads, and the catalogue snapshot

Revision ID: 853bee66aa38
Revises: 72918d504918
Create Date: 2026-12-03 08:35:00

Partner marketplaces (NTT Mart and others) get accounts managed by the office (``partners``),
API keys kept as a prefix and a SHA-256 (``partner_keys``), an hourly count of what each key
read (``partner_reads``), and the snapshot of the catalogue they were told about
(``partner_catalogue``, with its one state row ``partner_catalogue_state``, made by the first
sync). ``outbox_messages.partner_id`` marks a partner's webhook call. New tables only, and one
nullable column: nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '853bee66aa38'
down_revision = '72918d504918'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partner_catalogue',
    sa.Column('product_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_partner_catalogue')),
    sa.UniqueConstraint('seq', name=op.f('uq_partner_catalogue_seq'))
    )
    with op.batch_alter_table('partner_catalogue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_catalogue_changed_at'), ['changed_at'], unique=False)

    op.create_table('partner_catalogue_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_version', sa.BigInteger(), nullable=True),
    sa.Column('synced_listing_version', sa.BigInteger(), nullable=True),
    sa.Column('synced_on', sa.Date(), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_partner_catalogue_state_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_catalogue_state'))
    )
    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('webhook_secret', sa.String(length=80), nullable=True),
    sa.Column('webhook_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('name', name=op.f('uq_partners_name')),
    sa.UniqueConstraint('webhook_url', name=op.f('uq_partners_webhook_url'))
    )
    op.create_table('partner_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=24), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('requests_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('requests_per_minute > 0', name=op.f('ck_partner_keys_requests_per_minute_positive')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_keys_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['partner_keys.id'], name=op.f('fk_partner_keys_replaced_by_id_partner_keys'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_partner_keys_prefix'))
    )
    with op.batch_alter_table('partner_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_keys_partner_id'), ['partner_id'], unique=False)

    op.create_table('partner_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=40), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['partner_keys.id'], name=op.f('fk_partner_reads_key_id_partner_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_reads')),
    sa.UniqueConstraint('key_id', 'endpoint', 'hour', name=op.f('uq_partner_reads_key_id'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_partner_id'), ['partner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_partner_id_partners'), 'partners', ['partner_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_partner_id_partners'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_partner_id'))
        batch_op.drop_column('partner_id')

    op.drop_table('partner_reads')
    with op.batch_alter_table('partner_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_keys_partner_id'))

    op.drop_table('partner_keys')
    op.drop_table('partners')
    op.drop_table('partner_catalogue_state')
    with op.batch_alter_table('partner_catalogue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_catalogue_changed_at'))

    op.drop_table('partner_catalogue')
