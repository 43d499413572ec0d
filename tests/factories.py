"""Factory functions: objects with sensible defaults, committed, ready for a page to show."""
import re
from datetime import date, timedelta
from itertools import count

from sqlalchemy import select

from storefront.accounts.models import User
from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.products.models import Category, Product
from storefront.villages.models import Village

_seq = count(1)

NUMBER_FORMATS = {
    "nib": "{n:013d}",
    "pirt": "P-IRT No. 2105309{n:06d}-30",
    "bpom_md": "BPOM RI MD {n:012d}",
    "halal": "ID53{n:015d}",
    "trademark": "IDM{n:09d}",
    "geographical_indication": "ID G {n:09d}",
}


def category(code):
    return db.session.scalars(select(Category).where(Category.code == code)).one()


def make_village(**fields):
    n = next(_seq)
    values = dict(slug=f"desa-{n}", name=f"Desa Uji {n}", regency_code="53.09", district="Bajawa",
                  group_name=f"Kelompok Uji {n}", group_type="koperasi", story="Cerita desa.",
                  phone="+6281234567890", email=f"desa{n}@desa.example.id", active=True)
    values.update(fields)
    village = Village(**values)
    db.session.add(village)
    db.session.commit()
    return village


def make_product(village, category_code="kopi", **fields):
    n = next(_seq)
    values = dict(slug=f"produk-{n}", sku=f"SKU-{n}", name=f"Produk Uji {n}",
                  description="Deskripsi produk.", price_idr=85000, weight_grams=250, stock=10,
                  published=True, non_halal=False, review_status="approved")
    values.update(fields)
    product = Product(village_id=village.id, category_id=category(category_code).id, **values)
    db.session.add(product)
    db.session.commit()
    return product


def make_certificate(village, kind, products=(), status="verified", expires_on=None,
                     issued_on=None, number=None):
    n = next(_seq)
    cert = Certificate(
        kind=kind, number=number or NUMBER_FORMATS[kind].format(n=n), village_id=village.id,
        issued_on=issued_on or date(2024, 1, 15), expires_on=expires_on, status=status,
        verified_by_name="Dinas Uji" if status == "verified" else None, products=list(products),
    )
    db.session.add(cert)
    db.session.commit()
    return cert


def make_certified_village(**fields):
    """A village with a verified NIB that never expires."""
    village = make_village(**fields)
    make_certificate(village, "nib")
    return village


def make_sellable_food(village=None, category_code="kopi", **fields):
    """A food product with a verified P-IRT and halal certificate of its own village."""
    village = village or make_certified_village()
    product = make_product(village, category_code, **fields)
    make_certificate(village, "pirt", [product], expires_on=today_wita() + timedelta(days=365))
    if not product.non_halal:
        make_certificate(village, "halal", [product])
    return product


def make_user(role="customer", village=None, email=None, password="a-long-test-password"):
    n = next(_seq)
    user = User(email=email or f"user{n}@example.org", name=f"User {n}", role=role,
                village_id=village.id if village else None, email_confirmed_at=now_utc())
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def sign_in(client, user, password="a-long-test-password"):
    """Sign ``user`` in through the real form, CSRF token and all."""
    page = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/masuk", data={"csrf_token": token, "email": user.email, "password": password})
    assert response.status_code == 303, "sign-in failed"
    return client


def office_approves(app, product, reason=None):
    """The office approves (or, with ``reason``, refuses) what waits for it on ``product``,
    through its own review page."""
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    page = office.get(f"/kantor/produk/{product.id}").get_data(as_text=True)
    revision = re.search(r'name="revision_id"[^>]*value="([^"]*)"', page)
    data = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
            "revision_id": revision.group(1) if revision else ""}
    action = "setujui" if reason is None else "tolak"
    if reason is not None:
        data["reason"] = reason
    answer = office.post(f"/kantor/produk/{product.id}/{action}", data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return answer


def make_order(parts, payment_method="bank_transfer", paid=True, shipping_idr=20000, **fields):
    """An order written straight to the tables (fast): ``parts`` is ``{village: [(product, qty)]}``,
    one parcel per village with ``shipping_idr`` each. With ``paid`` (not for cash on delivery)
    it is marked paid through ``orders.services.mark_paid``, so the ledger books it as the shop
    does. Returns the order; its parcels are ``parcels_of(order)``."""
    from storefront.orders.models import Order, OrderLine, VillageOrder
    from storefront.orders.services import mark_paid
    from storefront.unit_of_work import unit_of_work

    n = next(_seq)
    subtotal = sum(p.price_idr * q for lines in parts.values() for p, q in lines)
    values = dict(number=f"NTT-261203-{n:04d}", idempotency_key=f"key-{n}", access_token_hash=f"{n:064x}",
                  name="Maria Buyer", email=f"buyer{n}@example.org", phone="+6281234567890",
                  province="Bali", regency="Kota Denpasar", regency_code="51.71", district="Denpasar Barat",
                  village_ward="Pemecutan", postal_code="80119", street="Jl. Gajah Mada 1",
                  payment_method=payment_method, status="awaiting_payment", subtotal_idr=subtotal,
                  shipping_idr=shipping_idr * len(parts), total_idr=subtotal + shipping_idr * len(parts))
    values.update(fields)
    order = Order(**values)
    db.session.add(order)
    db.session.flush()
    for village, lines in parts.items():
        weight = sum(p.weight_grams * q for p, q in lines)
        parcel = VillageOrder(order_id=order.id, village_id=village.id, village_name=village.name,
                              status="awaiting_payment", weight_grams=weight, chargeable_kg=max(1, -(-weight // 1000)),
                              zone="indonesia", subtotal_idr=sum(p.price_idr * q for p, q in lines),
                              shipping_idr=shipping_idr)
        db.session.add(parcel)
        db.session.flush()
        for product, quantity in lines:
            db.session.add(OrderLine(village_order_id=parcel.id, product_id=product.id, sku=product.sku,
                                     name=product.name, village_name=village.name, price_idr=product.price_idr,
                                     quantity=quantity, weight_grams=product.weight_grams))
    db.session.commit()
    if paid and payment_method != "cod":
        with unit_of_work():
            mark_paid(order.id, "test")
    return order


def parcels_of(order):
    from storefront.orders.models import VillageOrder
    return db.session.scalars(select(VillageOrder).where(VillageOrder.order_id == order.id)
                              .order_by(VillageOrder.id).execution_options(populate_existing=True)).all()


def move_parcel(parcel, *statuses, side="village"):
    """Move a parcel through ``statuses`` with the real transition service (courier and tracking
    filled in for "shipped")."""
    from storefront.orders.fulfilment import Change, change_parcel
    from storefront.unit_of_work import unit_of_work

    for status in statuses:
        change = Change(status, reason="test reason", courier="JNE", tracking_number="JNE0123456789")
        with unit_of_work():
            change_parcel(parcel.id, change, side=side, actor_name="test")
