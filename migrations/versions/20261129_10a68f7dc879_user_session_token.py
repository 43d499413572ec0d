"""Server-side session revocation: a random session token per user.

``users.session_token`` is part of the id kept in the session cookie and the remember-me cookie
(``User.get_id()`` is ``"id:token"``); replacing it on sign-out, password change or reset makes
every older cookie of that user worthless. Existing users get a random token each (so every
session signed before this migration ends: their cookies hold the old, bare id).

Revision ID: 10a68f7dc879
Revises: 11129b19c4ec
Create Date: 2026-11-29 09:32:48.161243

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '10a68f7dc879'
down_revision = '11129b19c4ec'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))

    users = sa.table('users', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(session_token=secrets.token_hex(16)))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
