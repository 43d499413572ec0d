"""Catalogue version: a one-row counter that triggers move on every catalogue change

Revision ID: c5a7e3d1b2f0
Revises: 4fc1377218c1
Create Date: 2026-12-02 05:20:00

The page cache keys every public page on this number (storefront/catalog/caching.py). It
replaces max(updated_at) + count(certificates), which cost a scan of the certificates and
could miss a change committed after a later one had already raised the maximum.
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

PG_FUNCTION = """
CREATE FUNCTION catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the first deferred event moves the version, the rest see the mark.
    IF current_setting('storefront.catalogue_changed', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('storefront.catalogue_changed', txid_current()::text, true);
        UPDATE catalogue_state SET version = version + 1, changed_at = now() WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade():
    op.create_table(
        'catalogue_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('id = 1', name=op.f('ck_catalogue_state_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_state')),
    )
    op.execute("INSERT INTO catalogue_state (id, version, changed_at) VALUES (1, 1, CURRENT_TIMESTAMP)")
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
        # SQLite has one writer at a time, so a plain row trigger is exact.
        for table in TABLES:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_catalogue_{action.lower()} AFTER {action} ON {table} "
                           f"BEGIN UPDATE catalogue_state SET version = version + 1, "
                           f"changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_changed ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_truncated ON {table}")
        op.execute("DROP FUNCTION IF EXISTS catalogue_changed()")
    else:
        for table in TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_{action}")
    op.drop_table('catalogue_state')
