"""Regency codes of addresses: the Kemendagri code of the regency/city an order or saved address is for

Revision ID: 991fae67959b
Revises: e21543cbb362
Create Date: 2026-12-02 20:00:00

Checkout chooses the regency or city from the Kemendagri list (storefront/indonesia) and prices
each parcel's zone from its code, after checking the postal code against it. The columns are
nullable: orders and addresses saved before hold only the typed name. Old orders keep their
priced zones (village_orders.zone); an old saved address is matched to the list by its exact
name at checkout, or chosen again by the buyer (storefront/addresses.py, saved_address_data).
"""
from alembic import op
import sqlalchemy as sa


revision = '991fae67959b'
down_revision = 'e21543cbb362'
branch_labels = None
depends_on = None

TABLES = ("orders", "addresses")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('regency_code', sa.String(length=5), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('regency_code')
