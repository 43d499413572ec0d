"""Parcels sent by another courier or carried by the village itself

Revision ID: 94b058c56b6a
Revises: 310b27bda41f
Create Date: 2026-12-03 07:10:00

A shipped parcel needed a courier and a tracking number. Now only a listed courier's parcel
must have its tracking number (``orders/tracking.py``); another courier, named by the village,
may have none; a parcel the village carries itself (``courier = 'village'``) has none. Parcels
shipped so far all have both, so they satisfy the new rule. Going back, a shipped parcel without
a tracking number gets ``-`` as its number, so the old rule holds.
"""
from alembic import op

revision = '94b058c56b6a'
down_revision = '310b27bda41f'
branch_labels = None
depends_on = None

#: The listed couriers when this revision was written (orders/tracking.py, COURIERS).
LISTED = ('JNE', 'J&T Express', 'SiCepat', 'POS Indonesia', 'TIKI', 'AnterAja', 'Ninja Xpress',
          'Lion Parcel', 'Wahana', 'ID Express')
NEW_RULE = ("status <> 'shipped' OR (courier IS NOT NULL AND (tracking_number IS NOT NULL OR courier NOT IN ("
            + ", ".join(f"'{name}'" for name in LISTED)
            + ")) AND (courier <> 'village' OR tracking_number IS NULL))")
OLD_RULE = "status <> 'shipped' OR (courier IS NOT NULL AND tracking_number IS NOT NULL)"


def _replace(rule):
    with op.batch_alter_table('village_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_village_orders_shipped_has_tracking'), type_='check')
        batch_op.create_check_constraint(op.f('ck_village_orders_shipped_has_tracking'), rule)


def upgrade():
    _replace(NEW_RULE)


def downgrade():
    op.execute("UPDATE village_orders SET tracking_number = '-' "
               "WHERE status = 'shipped' AND tracking_number IS NULL")
    _replace(OLD_RULE)
