"""The shop's own pages (about, how to buy, privacy, ...) editable by the office

Revision ID: 2234b423d7fe
Revises: 94b058c56b6a
Create Date: 2026-12-03 08:30:00

``page_revisions`` holds every saved text of a page, in Indonesian and English, with who saved
it and when; a page shows its newest row. No rows are seeded: a page the office never saved
shows the default text that comes with the code (``storefront/pages/defaults/``), so a new
release can improve the defaults of pages nobody has edited yet. ``(slug, replaces_id)`` is
unique: two edits made from the same text never both land.
"""
import sqlalchemy as sa
from alembic import op

revision = '2234b423d7fe'
down_revision = '94b058c56b6a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('page_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('title_id', sa.String(length=120), nullable=False),
    sa.Column('body_id', sa.Text(), nullable=False),
    sa.Column('title_en', sa.String(length=120), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('editor_name', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], name=op.f('fk_page_revisions_editor_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_revisions')),
    sa.UniqueConstraint('slug', 'replaces_id', name=op.f('uq_page_revisions_slug'))
    )
    with op.batch_alter_table('page_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_page_revisions_slug_id', ['slug', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('page_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_page_revisions_slug_id')
    op.drop_table('page_revisions')
