"""The village's sales summary: revenue and units by month (WITA) and by product, from paid
parcels only, the village's own only. Orders are written directly with known figures."""
import html as htmllib
import re
from datetime import datetime, timezone
from itertools import count

import pytest

from storefront.extensions import db
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.portal.sales import month_bounds, sales_by_month, sales_by_product

from .factories import make_certified_village, make_product, make_user, sign_in

_seq = count(1)


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def parcel(village, lines, paid_at, order_status="paid", status="paid", others=()):
    """An order with one parcel of ``village`` (and one per village in ``others``).

    ``lines``: (product, quantity, price_idr). Returns the order.
    """
    n = next(_seq)
    order = Order(number=f"NTT-SALE-{n}", idempotency_key=f"sale-{n}", access_token_hash=f"{n:064x}",
                  name="Budi", email="budi@example.org", phone="+6281234567890", province="Bali",
                  regency="Denpasar", district="Denpasar Barat", village_ward="Dauh Puri",
                  postal_code="80113", street="Jl. Gajah Mada 1", payment_method="bank_transfer",
                  status=order_status, subtotal_idr=0, shipping_idr=0, total_idr=0,
                  paid_at=paid_at if order_status == "paid" else None)
    db.session.add(order)
    db.session.flush()
    for v, v_lines in [(village, lines), *others]:
        vo = VillageOrder(order_id=order.id, village_id=v.id, village_name=v.name, status=status,
                          weight_grams=250, chargeable_kg=1, zone="indonesia",
                          subtotal_idr=sum(q * p for _, q, p in v_lines), shipping_idr=55000)
        db.session.add(vo)
        db.session.flush()
        for product, quantity, price in v_lines:
            db.session.add(OrderLine(village_order_id=vo.id, product_id=product.id, sku=product.sku,
                                     name=product.name, village_name=v.name, price_idr=price,
                                     quantity=quantity, weight_grams=250))
    db.session.commit()
    return order


@pytest.fixture
def sales(app):
    """Village A sells coffee and honey over September and October 2026 (WITA); noise around it."""
    a, b = make_certified_village(name="Desa Beiposo"), make_certified_village(name="Desa Nita")
    coffee = make_product(a, "kopi", name="Kopi Bajawa", sku="BEI-KOPI-001")
    honey = make_product(a, "gula-madu", name="Madu Hutan", sku="BEI-MADU-001")
    tea = make_product(b, "teh-herbal", name="Teh Kelor", sku="NIT-TEH-001")
    # 30 Sep 23:59 WITA: September.
    parcel(a, [(coffee, 2, 85000), (honey, 1, 120000)], utc(2026, 9, 30, 15, 59))
    # 1 Oct 00:00 WITA (still 30 Sep in UTC): October. Village B's parcel in the same order is B's.
    parcel(a, [(coffee, 1, 80000)], utc(2026, 9, 30, 16, 0), others=[(b, [(tea, 5, 40000)])])
    parcel(a, [(honey, 3, 120000)], utc(2026, 10, 20, 3, 0), status="delivered")
    # Not sales: declined or cancelled parcels, unpaid or expired orders, another village.
    parcel(a, [(coffee, 10, 85000)], utc(2026, 10, 21, 3, 0), status="declined")
    parcel(a, [(coffee, 10, 85000)], utc(2026, 10, 22, 3, 0), status="cancelled")
    parcel(a, [(coffee, 7, 85000)], None, order_status="awaiting_payment", status="awaiting_payment")
    parcel(a, [(coffee, 7, 85000)], None, order_status="expired", status="expired")
    parcel(b, [(tea, 9, 40000)], utc(2026, 10, 5, 3, 0))
    return {"a": a, "b": b, "coffee": coffee, "honey": honey}


def member_client(app, village):
    client = app.test_client()
    sign_in(client, make_user("village_member", village))
    client.get("/bahasa/en")
    return client


def rows(page, heading_id):
    """The table under ``heading_id`` as lists of cell texts."""
    table = re.search(rf'<table[^>]*aria-labelledby="{heading_id}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_sales_by_month_and_product_count_only_paid_parcels(sales):
    a = sales["a"]
    months = [(r.key, r.parcels, r.units, r.revenue_idr) for r in sales_by_month(a.id)]
    assert months == [("2026-10", 2, 4, 440000), ("2026-09", 1, 3, 290000)]
    products = [(r.label, r.sku, r.units, r.revenue_idr) for r in sales_by_product(a.id)]
    assert products == [("Madu Hutan", "BEI-MADU-001", 4, 480000), ("Kopi Bajawa", "BEI-KOPI-001", 3, 250000)]
    october = [(r.label, r.units, r.revenue_idr) for r in sales_by_product(a.id, month_bounds(2026, 10))]
    assert october == [("Madu Hutan", 3, 360000), ("Kopi Bajawa", 1, 80000)]


def test_the_sales_page_shows_the_figures(app, sales):
    page = htmllib.unescape(member_client(app, sales["a"]).get("/portal/penjualan").get_data(as_text=True))
    assert rows(page, "by-month") == [["October 2026", "2", "4", "Rp 440.000"],
                                      ["September 2026", "1", "3", "Rp 290.000"]]
    assert rows(page, "by-product") == [["Madu Hutan", "BEI-MADU-001", "4", "Rp 480.000"],
                                        ["Kopi Bajawa", "BEI-KOPI-001", "3", "Rp 250.000"]]
    assert "Rp 730.000" in page and "Teh Kelor" not in page
    assert 'href="/portal/penjualan?bulan=2026-09#by-product"' in page

    september = htmllib.unescape(member_client(app, sales["a"]).get("/portal/penjualan?bulan=2026-09")
                                 .get_data(as_text=True))
    assert "By product in September 2026" in september
    assert rows(september, "by-product") == [["Kopi Bajawa", "BEI-KOPI-001", "2", "Rp 170.000"],
                                             ["Madu Hutan", "BEI-MADU-001", "1", "Rp 120.000"]]


def test_a_product_renamed_or_removed_keeps_its_sales(app, sales):
    coffee = sales["coffee"]
    coffee.name = "Kopi Arabika Bajawa"
    db.session.commit()
    assert [r.label for r in sales_by_product(sales["a"].id)] == ["Madu Hutan", "Kopi Arabika Bajawa"]


def test_a_paid_order_without_a_payment_time_counts_by_its_creation(app):
    village = make_certified_village()
    product = make_product(village, "kopi")
    order = parcel(village, [(product, 2, 50000)], None)
    order.created_at = utc(2026, 3, 31, 17, 0)  # 1 April in WITA
    db.session.commit()
    assert [(r.key, r.units, r.revenue_idr) for r in sales_by_month(village.id)] == [("2026-04", 2, 100000)]
    assert sales_by_product(village.id, month_bounds(2026, 4))[0].units == 2
    assert sales_by_product(village.id, month_bounds(2026, 3)) == []


def test_each_village_sees_only_its_own_sales(app, sales):
    page = htmllib.unescape(member_client(app, sales["b"]).get("/portal/penjualan").get_data(as_text=True))
    assert rows(page, "by-month") == [["October 2026", "2", "14", "Rp 560.000"]]
    assert "Kopi Bajawa" not in page and "Madu Hutan" not in page


def test_no_sales_yet(app):
    village = make_certified_village()
    page = member_client(app, village).get("/portal/penjualan").get_data(as_text=True)
    assert "No paid orders yet." in page


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "abc", "26-10", "9999-12", "2026-1"])
def test_a_bad_month_answers_404(app, sales, month):
    assert member_client(app, sales["a"]).get(f"/portal/penjualan?bulan={month}").status_code == 404


def test_only_members_see_sales(app, client, sales):
    assert client.get("/portal/penjualan").status_code == 302
    customer = app.test_client()
    sign_in(customer, make_user("customer"))
    assert customer.get("/portal/penjualan").status_code == 403


def test_the_sales_page_takes_a_fixed_number_of_queries(app, count_queries):
    village = make_certified_village()
    products = [make_product(village, "kopi") for _ in range(6)]
    member = member_client(app, village)
    parcel(village, [(products[0], 1, 10000)], utc(2026, 1, 5))
    with count_queries() as small:
        assert member.get("/portal/penjualan").status_code == 200
    for month in range(2, 13):
        parcel(village, [(p, month, 10000) for p in products], utc(2026, month, 5))
    with count_queries() as large:
        assert member.get("/portal/penjualan").status_code == 200
    assert large.count == small.count <= 6, (small.count, large.count)
