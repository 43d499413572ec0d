"""Search and village-list indexes: trigram GIN for the search's ILIKEs (PostgreSQL), villages by name

Revision ID: 8e03b8d86d63
Revises: c5a7e3d1b2f0
Create Date: 2026-12-02 06:30:00

Search asks ``column ILIKE '%word%'`` of products (name, description, SKU) and villages (name,
group name, district, story). Without an index each of those is a pass over the whole table:
326 ms for the product columns and 10-15 ms for the village ones at national scale (100,000
products, 3,000 villages). pg_trgm's GIN operator class answers ILIKE with an infix pattern
from the index (words of three or more characters; shorter ones still work, by a scan).
These indexes exist on PostgreSQL only: SQLite keeps its plain LIKE scan, and the models do not
declare them (see ``TRIGRAM_INDEXES`` in storefront/catalog/browse.py and the schema test).

``ix_villages_name`` serves the catalogue's village filter, which lists the first villages by
name (storefront/catalog/browse.py, ``active_villages``), on both databases.
"""
from alembic import op


revision = '8e03b8d86d63'
down_revision = 'c5a7e3d1b2f0'
branch_labels = None
depends_on = None

#: index name -> (table, column); the same list as ``browse.TRIGRAM_INDEXES`` when written.
TRIGRAM_INDEXES = {
    "ix_products_name_trgm": ("products", "name"),
    "ix_products_description_trgm": ("products", "description"),
    "ix_products_sku_trgm": ("products", "sku"),
    "ix_villages_name_trgm": ("villages", "name"),
    "ix_villages_group_name_trgm": ("villages", "group_name"),
    "ix_villages_district_trgm": ("villages", "district"),
    "ix_villages_story_trgm": ("villages", "story"),
}


def upgrade():
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.create_index('ix_villages_name', ['name'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, column) in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # The extension stays: something else in the database may use it.

    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.drop_index('ix_villages_name')
