"""The language a buyer shopped in and a person signed in with: their mail is written in it

Revision ID: e93814acf820
Revises: 05cc1e4a8e20
Create Date: 2026-12-02 23:00:00

Every mail now goes through the outbox from a template, in the recipient's language. Rows that
exist already were written in Indonesian, the shop's default, and keep it.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e93814acf820'
down_revision = '05cc1e4a8e20'
branch_labels = None
depends_on = None


def upgrade():
    for table in ("orders", "users"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lang', sa.String(length=2), nullable=False, server_default='id'))


def downgrade():
    for table in ("orders", "users"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lang')
