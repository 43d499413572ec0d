"""Listing review: products wait for the office's approval; changes to what they are wait as revisions

Revision ID: c91a2fbcc78a
Revises: 8e03b8d86d63
Create Date: 2026-12-02 21:00:00

``products.review_status`` joins the listing rule (only ``approved`` products sell). Products
that exist now were listed under the old rules and stay on sale: they are marked approved; new
ones made in the portal start as ``pending`` (the model's default). On SQLite the products table
is rebuilt for the new CHECK, which drops its triggers: they are made again, the listing trigger
now watching ``review_status`` too (on PostgreSQL the trigger compares whole rows).
"""
from alembic import op
import sqlalchemy as sa


revision = 'c91a2fbcc78a'
down_revision = '8e03b8d86d63'
branch_labels = None
depends_on = None

#: Columns of products whose change moves the listing version: all but stock and updated_at
#: (tests/test_caching.py checks the trigger against the model).
LISTING_COLUMNS_BEFORE = ("id", "village_id", "category_id", "slug", "sku", "name", "description",
                          "price_idr", "weight_grams", "published", "non_halal",
                          "verification_code", "created_at")
LISTING_COLUMNS = LISTING_COLUMNS_BEFORE + ("review_status",)

BOTH = ("UPDATE catalogue_state SET version = version + 1, listing_version = listing_version + 1, "
        "changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;")
PAGE_ONLY = ("UPDATE catalogue_state SET version = version + 1, "
             "changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;")
LISTING_ONLY = "UPDATE catalogue_state SET listing_version = listing_version + 1 WHERE id = 1;"


def _product_triggers(columns):
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    yield "products_catalogue_insert", "AFTER INSERT ON products", BOTH
    yield "products_catalogue_delete", "AFTER DELETE ON products", BOTH
    yield "products_catalogue_update", "AFTER UPDATE ON products", PAGE_ONLY
    yield "products_listing_update", f"AFTER UPDATE ON products WHEN {changed}", LISTING_ONLY


def _rebuild_products(sqlite, alter, columns):
    """Run ``alter`` on products; on SQLite around its triggers, which a rebuild would drop."""
    if sqlite:
        for name, _when, _action in _product_triggers(columns):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    alter()
    if sqlite:
        for name, when, action in _product_triggers(columns):
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {action} END")


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"

    def add_review_status():
        with op.batch_alter_table('products', schema=None) as batch_op:
            batch_op.add_column(sa.Column('review_status', sa.String(length=10), nullable=False,
                                          server_default='approved'))
            batch_op.create_check_constraint(
                'review_status_known', "review_status IN ('pending', 'approved', 'rejected')")
        with op.batch_alter_table('products', schema=None) as batch_op:
            batch_op.alter_column('review_status', server_default=None)

    _rebuild_products(sqlite, add_review_status, LISTING_COLUMNS)

    op.create_table(
        'product_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=160), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('weight_grams', sa.Integer(), nullable=False),
        sa.Column('non_halal', sa.Boolean(), nullable=False),
        sa.Column('photo_keys', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn', 'superseded')",
                           name=op.f('ck_product_revisions_status_known')),
        sa.CheckConstraint('weight_grams > 0', name=op.f('ck_product_revisions_weight_grams_positive')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'],
                                name=op.f('fk_product_revisions_category_id_categories')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_product_revisions_created_by_id_users')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE',
                                name=op.f('fk_product_revisions_product_id_products')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_product_revisions')),
    )
    with op.batch_alter_table('product_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_revisions_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_product_revisions_one_pending', ['product_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))

    op.create_table(
        'listing_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('revision_id', sa.Integer(), nullable=True),
        sa.Column('from_status', sa.String(length=12), nullable=True),
        sa.Column('to_status', sa.String(length=12), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=160), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_listing_events_actor_id_users')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE',
                                name=op.f('fk_listing_events_product_id_products')),
        sa.ForeignKeyConstraint(['revision_id'], ['product_revisions.id'], ondelete='SET NULL',
                                name=op.f('fk_listing_events_revision_id_product_revisions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_events')),
    )
    with op.batch_alter_table('listing_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_events_product_id'), ['product_id'], unique=False)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_table('listing_events')
    op.drop_table('product_revisions')

    def drop_review_status():
        with op.batch_alter_table('products', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_products_review_status_known'), type_='check')
            batch_op.drop_column('review_status')

    _rebuild_products(sqlite, drop_review_status, LISTING_COLUMNS_BEFORE)
