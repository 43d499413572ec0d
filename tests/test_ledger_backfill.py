"""Orders sold before the ledger existed are booked by the migration that makes it: a shop that
upgrades keeps owing its villages what they earned (SQLite and PostgreSQL)."""
from datetime import datetime, timezone

import pytest
from flask_migrate import upgrade
from sqlalchemy import MetaData, Table, select, text

from storefront.extensions import db

from .conftest import build_app, empty_database

BEFORE_LEDGER = "e93814acf820"
PAID_AT = datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc)  # 1 December in WITA


@pytest.fixture(params=["sqlite", "postgresql"])
def old_shop(request, tmp_path):
    """An app on a database migrated only up to the revision before the ledger."""
    url = empty_database(request, tmp_path)
    app = build_app(url, tmp_path)
    with app.app_context():
        upgrade(revision=BEFORE_LEDGER)
        yield app
        db.session.remove()
        db.engine.dispose()


def _insert(conn, table_name, **values):
    table = Table(table_name, MetaData(), autoload_with=conn)
    return conn.execute(table.insert().values(**values)).inserted_primary_key[0]


def _old_rows(conn):
    """A village with four parcels, as the shop before the ledger left them."""
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    village = _insert(conn, "villages", slug="desa-lama", name="Desa Lama", regency_code="53.09", district="Bajawa",
                      group_name="Kelompok Lama", group_type="koperasi", story="", active=True, created_at=now)
    parcels = {}
    for n, (method, order_status, parcel_status) in enumerate([
            ("bank_transfer", "paid", "shipped"), ("stripe", "paid", "delivered"),
            ("bank_transfer", "paid", "declined"), ("cod", "awaiting_payment", "delivered"),
            ("bank_transfer", "awaiting_payment", "awaiting_payment")]):
        order = _insert(conn, "orders", number=f"NTT-261101-OLD{n}", idempotency_key=f"old-{n}",
                        access_token_hash=f"{n:064x}", name="Pembeli", email="p@example.org", phone="+6281234567890",
                        province="Bali", regency="Kota Denpasar", district="Denpasar", village_ward="Dauh Puri",
                        postal_code="80113", street="Jl. 1", payment_method=method, status=order_status, lang="id",
                        subtotal_idr=100_000, shipping_idr=20_000, total_idr=120_000, created_at=now,
                        paid_at=PAID_AT if order_status == "paid" else None,
                        stripe_payment_intent="pi_old" if method == "stripe" else None)
        parcels[(method, parcel_status)] = _insert(
            conn, "village_orders", order_id=order, village_id=village, village_name="Desa Lama",
            status=parcel_status, weight_grams=500, chargeable_kg=1, zone="indonesia", subtotal_idr=100_000,
            shipping_idr=20_000, created_at=now, courier="JNE" if parcel_status in ("shipped", "delivered") else None,
            tracking_number="JNE0123456789" if parcel_status in ("shipped", "delivered") else None,
            refund_state="office" if parcel_status == "declined" else None)
    return village


def test_upgrading_books_what_earlier_orders_owe_their_villages(old_shop):
    with db.engine.begin() as conn:
        village = _old_rows(conn)
    upgrade()
    from storefront.settlement.ledger import balance, entry_sums
    from storefront.settlement.models import LedgerEntry

    # Pending: the shipped transfer (120,000). Available: the delivered card parcel (120,000) and
    # the cash-on-delivery parcel (+120,000 earned, -120,000 cash kept). Nothing for the declined
    # parcel or the unpaid order.
    assert balance(village) == (120_000, 120_000) == entry_sums(village)
    keys = sorted(db.session.scalars(select(LedgerEntry.once_key)))
    assert [k.split(":")[0] for k in keys] == ["cod", "earned", "earned", "pending", "pending", "released"]
    received = db.session.execute(text("SELECT method, amount_idr, received_on FROM payments_received "
                                       "ORDER BY method")).all()
    assert [(m, a, str(d)) for m, a, d in received] == [
        ("bank_transfer", 120_000, "2026-12-01"), ("bank_transfer", 120_000, "2026-12-01"),
        ("stripe", 120_000, "2026-12-01")]
