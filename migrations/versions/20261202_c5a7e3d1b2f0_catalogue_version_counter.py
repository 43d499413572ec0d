"""Catalogue version: one-row counters that triggers move on every catalogue change

Revision ID: c5a7e3d1b2f0
Revises: 4fc1377218c1
Create Date: 2026-12-02 05:20:00

The page cache keys every public page on ``version`` (storefront/catalog/caching.py). It
replaces max(updated_at) + count(certificates), which cost a scan of the certificates and
could miss a change committed after a later one had already raised the maximum.
``listing_version`` moves on the same changes except a product's stock alone (every order
changes stock): counts and rankings over the catalogue are kept on it.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c5a7e3d1b2f0'
down_revision = '4fc1377218c1'
branch_labels = None
depends_on = None

#: Everything a public page shows comes from these tables.
TABLES = ("products", "product_photos", "villages", "categories", "certificates",
          "certificate_products")
#: Columns of products whose change moves the listing version too: all but stock and
#: updated_at (tests/test_caching.py checks this against the model).
PRODUCT_LISTING_COLUMNS = ("id", "village_id", "category_id", "slug", "sku", "name", "description",
                           "price_idr", "weight_grams", "published", "non_halal",
                           "verification_code", "created_at")

PG_FUNCTION = """
CREATE FUNCTION catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx text := txid_current()::text;
BEGIN
    -- Once per transaction: the first deferred event moves a counter, the rest see the mark.
    IF current_setting('storefront.catalogue_changed', true) IS DISTINCT FROM tx THEN
        PERFORM set_config('storefront.catalogue_changed', tx, true);
        UPDATE catalogue_state SET version = version + 1, changed_at = now() WHERE id = 1;
    END IF;
    -- Stock alone (an order, a restock) changes what a page shows, not what is listed.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'products'
            AND to_jsonb(NEW) - 'stock' - 'updated_at' = to_jsonb(OLD) - 'stock' - 'updated_at' THEN
        RETURN NULL;
    END IF;
    IF current_setting('storefront.listing_changed', true) IS DISTINCT FROM tx THEN
        PERFORM set_config('storefront.listing_changed', tx, true);
        UPDATE catalogue_state SET listing_version = listing_version + 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$
"""

BOTH = ("UPDATE catalogue_state SET version = version + 1, listing_version = listing_version + 1, "
        "changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;")
PAGE_ONLY = ("UPDATE catalogue_state SET version = version + 1, "
             "changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;")
LISTING_ONLY = "UPDATE catalogue_state SET listing_version = listing_version + 1 WHERE id = 1;"


def _sqlite_triggers():
    """SQLite has one writer at a time, so plain row triggers are exact."""
    for table in TABLES:
        for action in ("INSERT", "UPDATE", "DELETE"):
            if table == "products" and action == "UPDATE":
                continue
            yield f"{table}_catalogue_{action.lower()}", f"AFTER {action} ON {table}", BOTH
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in PRODUCT_LISTING_COLUMNS)
    yield "products_catalogue_update", "AFTER UPDATE ON products", PAGE_ONLY
    yield "products_listing_update", f"AFTER UPDATE ON products WHEN {changed}", LISTING_ONLY


def upgrade():
    op.create_table(
        'catalogue_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('listing_version', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('id = 1', name=op.f('ck_catalogue_state_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_state')),
    )
    op.execute("INSERT INTO catalogue_state (id, version, listing_version, changed_at) "
               "VALUES (1, 1, 1, CURRENT_TIMESTAMP)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            # Deferred: runs at COMMIT, after every row lock the transaction needs is taken.
            op.execute(f"CREATE CONSTRAINT TRIGGER {table}_catalogue_changed "
                       f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalogue_changed()")
            op.execute(f"CREATE TRIGGER {table}_catalogue_truncated AFTER TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed()")
    else:
        for name, when, action in _sqlite_triggers():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {action} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_changed ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_truncated ON {table}")
        op.execute("DROP FUNCTION IF EXISTS catalogue_changed()")
    else:
        for name, _, _ in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('catalogue_state')
