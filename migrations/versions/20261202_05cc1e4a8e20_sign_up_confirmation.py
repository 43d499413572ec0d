"""Sign-up confirmation: an account opened on the sign-up page works once the link mailed to
its address is opened

``users.email_confirmed_at`` is NULL for such an account until then. Every account that exists
before this migration (village members invited by the office, verifiers, admins, users made with
``flask user create``, demo accounts, and buyers who signed up before) counts as confirmed: it
gets its creation time (or the migration's time when that is missing).

``sign_up_confirmations`` holds the mailed links: the SHA-256 of the token (never the token),
the name and password hash typed on that sign-up, expiry and use.

Revision ID: 05cc1e4a8e20
Revises: 991fae67959b
Create Date: 2026-12-02 19:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '05cc1e4a8e20'
down_revision = '991fae67959b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))

    users = sa.table('users', sa.column('email_confirmed_at', sa.DateTime(timezone=True)),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    op.execute(users.update().values(
        email_confirmed_at=sa.func.coalesce(users.c.created_at, sa.func.current_timestamp())))

    op.create_table('sign_up_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_up_confirmations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_up_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_up_confirmations_token_hash'))
    )
    with op.batch_alter_table('sign_up_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_up_confirmations_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_up_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_up_confirmations_user_id'))

    op.drop_table('sign_up_confirmations')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
