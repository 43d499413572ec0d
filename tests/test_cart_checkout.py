"""Cart, checkout and payments, as a buyer (and the office) use them over HTTP.

Prices, stock and the listing rule always come from the database; an order is one Order with a
VillageOrder (its own parcel and shipping) per village; bank transfers are confirmed by the office
or expire (``flask orders expire``) and give their stock back once.
"""
import html as htmllib
import re
from datetime import timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from storefront.cart.models import Cart, CartItem
from storefront.checkout.models import ShippingRate
from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.orders.models import Order, OrderEvent, OrderLine, VillageOrder
from storefront.outbox.worker import deliver_due
from storefront.products.models import Product

from .conftest import csrf_token
from .factories import make_certified_village, make_product, make_sellable_food, make_user, sign_in

JAWA_TIMUR = {"name": "Maria Goreti", "email": "Maria@Example.org", "phone": "0812 3456 7890",
              "province": "Jawa Timur", "regency": "35.78", "district": "Gubeng",  # Kota Surabaya
              "village_ward": "Airlangga", "postal_code": "60286",
              "street": "Jl. Airlangga 4, RT 01/RW 02"}
NGADA = dict(JAWA_TIMUR, province="Nusa Tenggara Timur", regency="53.09", district="Bajawa",
             village_ward="Trikora", postal_code="86413", street="Jl. Soekarno-Hatta 7")
RATES = {"same_regency": 12000, "ntt": 25000, "indonesia": 55000}


# --- helpers -------------------------------------------------------------------------------------

def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def idr(amount):
    return f"Rp {amount:,}".replace(",", ".")


def english(client):
    assert client.get("/bahasa/en").status_code == 303


def token(client):
    """A CSRF token of this client's session (the sign-in form always carries one)."""
    return csrf_token(client.get("/masuk").get_data(as_text=True))


def hidden(page, name):
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def add(client, product, quantity=1, **extra):
    """Use the product page's own form, as a browser would."""
    page = client.get(f"/produk/{product.slug}")
    assert page.status_code == 200
    form = text(page)
    assert 'action="/keranjang/tambah"' in form
    data = {"product_id": hidden(form, "product_id"), "quantity": quantity, **extra}
    return client.post("/keranjang/tambah", data=data)


def post_line(client, url, product_id, quantity, follow=True):
    return client.post(url, data={"csrf_token": token(client), "product_id": product_id,
                                  "quantity": quantity}, follow_redirects=follow)


def lines():
    """Every cart line in the database: product id -> quantity."""
    db.session.expire_all()
    return {i.product_id: i.quantity for i in db.session.scalars(select(CartItem))}


def stock(product):
    db.session.expire_all()
    return db.session.get(Product, product.id).stock


def order_count():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Order))


def only_order():
    db.session.expire_all()
    [order] = db.session.scalars(select(Order)).all()
    return order


def village_orders(order):
    return db.session.scalars(select(VillageOrder).where(VillageOrder.order_id == order.id)
                              .order_by(VillageOrder.id)).all()


def order_lines(village_order):
    return db.session.scalars(select(OrderLine).where(OrderLine.village_order_id == village_order.id)
                              .order_by(OrderLine.id)).all()


def quote(client, address=JAWA_TIMUR, **fields):
    """Step one: the checkout page, then ``action=quote``, which keeps what was typed and shows the
    quote on the page it redirects to (POST, redirect, GET). Returns (response, posted data)."""
    page = client.get("/checkout")
    assert page.status_code == 200, page.headers.get("Location")
    form = text(page)
    data = {"csrf_token": csrf_token(form), **address, "payment_method": "bank_transfer",
            "idempotency_key": hidden(form, "idempotency_key"), "expected_total": "",
            "action": "quote"}
    data.update(fields)
    return client.post("/checkout", data=data, follow_redirects=True), data


def place(client, data, expected_total, **fields):
    return client.post("/checkout", data={**data, "action": "place",
                                          "expected_total": str(expected_total), **fields})


def checkout(client, address=JAWA_TIMUR, **fields):
    """Quote, then place with the total the page showed; returns the response to placing."""
    quoted, data = quote(client, address, **fields)
    assert quoted.status_code == 200, text(quoted)
    return place(client, data, hidden(text(quoted), "expected_total"))


def order_path(response):
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.path.startswith("/pesanan/NTT-"), location
    return parts.path + (f"?{parts.query}" if parts.query else "")


def shipping(kg, zone):
    return kg * RATES[zone]


# --- adding to the cart --------------------------------------------------------------------------

def test_product_page_form_adds_to_cart_and_cart_groups_lines_by_village(client):
    ngada = make_certified_village(name="Desa Beiposo", regency_code="53.09")
    ende = make_certified_village(name="Desa Wolotopo", regency_code="53.08")
    coffee = make_sellable_food(ngada, name="Kopi Arabika Bajawa", price_idr=85000)
    honey = make_sellable_food(ngada, "gula-madu", name="Madu Hutan", price_idr=60000)
    ikat = make_product(ende, "tenun", name="Sarung Tenun Ende", price_idr=450000)
    english(client)

    response = add(client, coffee, 2)
    assert response.status_code == 303 and response.headers["Location"].endswith("/keranjang")
    assert add(client, ikat, 1).status_code == 303
    assert add(client, honey, 1).status_code == 303
    assert lines() == {coffee.id: 2, ikat.id: 1, honey.id: 1}

    page = text(client.get("/keranjang"))
    assert "Madu Hutan is in your cart." in page
    sections = page.split('<section class="parcel">')[1:]
    assert len(sections) == 2
    by_heading = {re.search(r"Parcel from ([^<]+?) <", s).group(1): s for s in sections}
    assert set(by_heading) == {"Desa Beiposo", "Desa Wolotopo"}
    assert "Kopi Arabika Bajawa" in by_heading["Desa Beiposo"] and "Madu Hutan" in by_heading["Desa Beiposo"]
    assert "Sarung Tenun Ende" in by_heading["Desa Wolotopo"]
    assert "Sarung Tenun Ende" not in by_heading["Desa Beiposo"]
    assert idr(2 * 85000) in page  # the coffee line
    assert idr(2 * 85000 + 60000 + 450000) in page  # goods in total


def test_cart_speaks_indonesian_by_default(client):
    village = make_certified_village(name="Desa Beiposo")
    add(client, make_sellable_food(village))
    page = text(client.get("/keranjang"))
    assert "Paket dari Desa Beiposo" in page and "Parcel from" not in page


def test_adding_more_than_the_stock_sets_the_most_there_is(client):
    """Issue 17: more than is left puts all that is left in the cart, and says so."""
    product = make_sellable_food(name="Kopi Robusta", stock=3)
    english(client)

    page = text(client.post("/keranjang/tambah", data={
        "csrf_token": token(client), "product_id": product.id, "quantity": 4}, follow_redirects=True))
    assert "Only 3 of Kopi Robusta left, so your cart now holds 3." in page
    assert lines() == {product.id: 3}

    response = add(client, product, 1, next=f"/produk/{product.slug}")
    assert response.headers["Location"].endswith("/keranjang")
    assert "Only 3 of Kopi Robusta left, and your cart already holds them all." in text(client.get("/keranjang"))
    assert lines() == {product.id: 3}
    assert stock(product) == 3  # a cart never holds stock

    sold_out = make_sellable_food(name="Kopi Habis", stock=0)
    response = client.post("/keranjang/tambah", data={"product_id": sold_out.id, "quantity": 1,
                                                       "next": f"/produk/{sold_out.slug}"})
    assert response.headers["Location"].endswith(f"/produk/{sold_out.slug}")  # back where they were
    assert "Kopi Habis is sold out." in text(client.get("/keranjang"))
    assert lines() == {product.id: 3}


def test_a_hidden_product_cannot_be_added_by_tampering_with_product_id(client):
    village = make_certified_village()
    visible = make_sellable_food(village)
    no_permit = make_product(village, "kopi", name="Kopi Tanpa Izin")  # food without P-IRT
    unpublished = make_sellable_food(village, published=False)
    english(client)

    for product in (no_permit, unpublished):
        assert client.get(f"/produk/{product.slug}").status_code == 404
        page = text(post_line(client, "/keranjang/tambah", product.id, 1))
        assert "This product is not for sale right now." in page
    page = text(post_line(client, "/keranjang/tambah", 999999, 1))
    assert "This product is not for sale right now." in page
    assert lines() == {}
    assert add(client, visible).status_code == 303
    assert lines() == {visible.id: 1}


@pytest.mark.parametrize("quantity", ["0", "-1", "1000", "99999999999999999999", "abc", "", "1.5"])
def test_a_quantity_outside_1_to_999_is_refused(client, quantity):
    product = make_sellable_food(stock=5000)
    english(client)
    page = text(post_line(client, "/keranjang/tambah", product.id, quantity))
    assert "Choose a quantity from 1 to 999." in page
    assert lines() == {}


def test_a_cart_line_can_be_changed_and_removed(client):
    product = make_sellable_food(name="Kopi Manggarai", stock=5)
    other = make_sellable_food(name="Madu Timor", stock=5)
    english(client)
    add(client, product, 1)
    add(client, other, 1)

    post_line(client, "/keranjang/ubah", product.id, 4)
    assert lines() == {product.id: 4, other.id: 1}

    page = text(post_line(client, "/keranjang/ubah", product.id, 6))
    assert "Only 5 of Kopi Manggarai left, so your cart now holds 5." in page  # the most there is
    assert lines() == {product.id: 5, other.id: 1}

    page = text(post_line(client, "/keranjang/ubah", product.id, -2))
    assert "Choose a quantity from 0 to 999." in page
    assert lines() == {product.id: 5, other.id: 1}

    page = text(post_line(client, "/keranjang/ubah", product.id, 0))
    assert "Kopi Manggarai is removed from your cart." in page
    assert lines() == {other.id: 1}
    page = text(client.get("/keranjang"))
    assert "Kopi Manggarai" not in page and "Madu Timor" in page

    page = text(post_line(client, "/keranjang/ubah", product.id, 2))
    assert "That product is not in your cart." in page
    assert lines() == {other.id: 1}


# --- the cart is recomputed from the database ----------------------------------------------------

def test_a_new_price_must_be_accepted_before_checkout(client):
    product = make_sellable_food(price_idr=85000, stock=10)
    english(client)
    add(client, product, 2)
    quoted, data = quote(client)
    assert quoted.status_code == 200

    product.price_idr = 90000
    db.session.commit()

    page = text(client.get("/keranjang"))
    assert "The price changed from Rp 85.000 to Rp 90.000." in page
    assert "Check out" not in page
    response = client.get("/checkout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/keranjang")
    # Placing with the total quoted before the change is refused too, saying why.
    response = place(client, data, hidden(text(quoted), "expected_total"))
    assert response.status_code == 422
    refused = text(response)
    assert "Something in your cart changed. Review it before paying." in refused
    assert "The price changed from Rp 85.000 to Rp 90.000." in refused
    assert 'href="/keranjang"' in refused and 'value="place"' not in refused
    assert order_count() == 0 and stock(product) == 10

    client.post("/keranjang/terima", data={"csrf_token": token(client)})
    page = text(client.get("/keranjang"))
    assert "The price changed" not in page and idr(180000) in page
    db.session.expire_all()
    assert db.session.scalars(select(CartItem)).one().price_seen_idr == 90000
    assert client.get("/checkout").status_code == 200


def test_accepting_needs_the_csrf_token(client):
    product = make_sellable_food(price_idr=85000)
    add(client, product)
    product.price_idr = 1000
    db.session.commit()
    client.post("/keranjang/terima", data={})
    db.session.expire_all()
    assert db.session.scalars(select(CartItem)).one().price_seen_idr == 85000
    assert client.get("/checkout").status_code == 303


def test_lower_stock_must_be_accepted_and_caps_the_line(client):
    product = make_sellable_food(stock=10)
    english(client)
    add(client, product, 5)
    product.stock = 2
    db.session.commit()

    assert "Only 2 left." in text(client.get("/keranjang"))
    assert client.get("/checkout").status_code == 303
    client.post("/keranjang/terima", data={"csrf_token": token(client)})
    assert lines() == {product.id: 2}
    assert "Only 2 left." not in text(client.get("/keranjang"))
    assert client.get("/checkout").status_code == 200


def test_a_sold_out_product_is_dropped_on_accepting(client):
    product = make_sellable_food(stock=10)
    keep = make_sellable_food(stock=10)
    english(client)
    add(client, product, 1)
    add(client, keep, 1)
    product.stock = 0
    db.session.commit()

    assert "Sold out." in text(client.get("/keranjang"))
    assert client.get("/checkout").status_code == 303
    client.post("/keranjang/terima", data={"csrf_token": token(client)})
    assert lines() == {keep.id: 1}


def test_a_product_that_lost_its_papers_must_be_dropped_before_checkout(client):
    village = make_certified_village()
    product = make_sellable_food(village, name="Kopi Bermasalah")
    keep = make_sellable_food(village, name="Kopi Aman")
    english(client)
    add(client, product, 1)
    add(client, keep, 1)

    permit = db.session.scalars(select(Certificate).where(
        Certificate.kind == "pirt", Certificate.products.any(Product.id == product.id))).one()
    permit.status = "revoked"
    db.session.commit()

    page = text(client.get("/keranjang"))
    assert "No longer for sale: its papers or listing changed." in page
    assert client.get("/checkout").status_code == 303
    client.post("/keranjang/terima", data={"csrf_token": token(client)})
    assert lines() == {keep.id: 1}
    assert "Kopi Bermasalah" not in text(client.get("/keranjang"))
    assert client.get("/checkout").status_code == 200


# --- guest carts ---------------------------------------------------------------------------------

def test_a_guest_cart_lives_in_a_cookie(app, client):
    product = make_sellable_food(name="Kopi Tamu")
    response = add(client, product, 2)
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("keranjang=") and "HttpOnly" in cookie

    for _ in range(2):
        assert "Kopi Tamu" in text(client.get("/keranjang"))
    assert "Kopi Tamu" not in text(app.test_client().get("/keranjang"))
    db.session.expire_all()
    [cart] = db.session.scalars(select(Cart)).all()
    assert cart.user_id is None and cart.token_hash  # only a hash of the cookie is stored
    cookie_value = re.match(r"keranjang=([^;]+)", cookie).group(1)
    assert cookie_value not in cart.token_hash


def test_signing_in_merges_the_guest_cart_into_the_accounts_cart(app, client):
    coffee = make_sellable_food(name="Kopi Gabung", stock=10)
    honey = make_sellable_food(name="Madu Gabung", stock=10)
    buyer = make_user()

    earlier = sign_in(app.test_client(), buyer)  # the buyer's cart from another device
    add(earlier, coffee, 1)

    add(client, coffee, 2)
    add(client, honey, 1)
    sign_in(client, buyer)

    db.session.expire_all()
    [cart] = db.session.scalars(select(Cart)).all()  # the guest cart is gone
    assert cart.user_id == buyer.id
    assert lines() == {coffee.id: 3, honey.id: 1}
    page = text(client.get("/keranjang"))
    assert "Kopi Gabung" in page and "Madu Gabung" in page


# --- checkout ------------------------------------------------------------------------------------

@pytest.fixture
def three_villages():
    """Three villages in three regencies; parcels of 750 g, 1,200 g and exactly 1,000 g."""
    ngada = make_certified_village(name="Desa Beiposo", regency_code="53.09")
    ende = make_certified_village(name="Desa Wolotopo", regency_code="53.08")
    sikka = make_certified_village(name="Desa Nita", regency_code="53.07")
    products = {
        "coffee": make_sellable_food(ngada, name="Kopi Arabika Bajawa", sku="NGD-KOPI-01",
                                     price_idr=85000, weight_grams=250, stock=10),
        "honey": make_sellable_food(ngada, "gula-madu", name="Madu Hutan Ngada", sku="NGD-MADU-01",
                                    price_idr=60000, weight_grams=250, stock=4),
        "ikat": make_product(ende, "tenun", name="Sarung Tenun Ende", sku="END-TENUN-01",
                             price_idr=450000, weight_grams=600, stock=3),
        "moringa": make_sellable_food(sikka, "teh-herbal", name="Teh Kelor Sikka", sku="SKA-KELOR-01",
                                      price_idr=35000, weight_grams=500, stock=20),
    }
    quantities = {"coffee": 2, "honey": 1, "ikat": 2, "moringa": 2}
    return {"villages": (ngada, ende, sikka), "products": products, "quantities": quantities}


def fill_cart(client, setup):
    for key, product in setup["products"].items():
        assert add(client, product, setup["quantities"][key]).status_code == 303


def test_checkout_from_three_villages_by_bank_transfer(app, client, smtp, three_villages):
    ngada, ende, sikka = three_villages["villages"]
    p, q = three_villages["products"], three_villages["quantities"]
    fill_cart(client, three_villages)

    quoted, data = quote(client)
    page = text(quoted)
    goods = {"ngada": 2 * 85000 + 60000, "ende": 2 * 450000, "sikka": 2 * 35000}
    ship = {"ngada": shipping(1, "indonesia"), "ende": shipping(2, "indonesia"),
            "sikka": shipping(1, "indonesia")}
    total = sum(goods.values()) + sum(ship.values())
    assert hidden(page, "expected_total") == str(total)
    assert idr(total) in page
    assert order_count() == 0  # a quote is not an order

    response = place(client, data, total)
    path = order_path(response)
    number = urlsplit(path).path.rsplit("/", 1)[1]

    order = only_order()
    assert order.number == number and order.status == "awaiting_payment"
    assert order.payment_method == "bank_transfer" and order.email == "maria@example.org"
    assert (order.subtotal_idr, order.shipping_idr, order.total_idr) == (
        sum(goods.values()), sum(ship.values()), total)
    assert order.province == "Jawa Timur" and order.phone == "+6281234567890"
    assert order.user_id is None
    expires = order.expires_at  # SQLite gives it back naive (UTC), PostgreSQL aware
    held = (expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)) - now_utc()
    assert timedelta(hours=47) < held <= timedelta(hours=48)

    parcels = village_orders(order)
    assert [vo.village_id for vo in parcels] == [ngada.id, ende.id, sikka.id]
    expected = {
        ngada.id: ("Desa Beiposo", 750, 1, goods["ngada"], ship["ngada"],
                   [("Kopi Arabika Bajawa", "NGD-KOPI-01", 85000, 2),
                    ("Madu Hutan Ngada", "NGD-MADU-01", 60000, 1)]),
        ende.id: ("Desa Wolotopo", 1200, 2, goods["ende"], ship["ende"],
                  [("Sarung Tenun Ende", "END-TENUN-01", 450000, 2)]),
        sikka.id: ("Desa Nita", 1000, 1, goods["sikka"], ship["sikka"],
                   [("Teh Kelor Sikka", "SKA-KELOR-01", 35000, 2)]),
    }
    for vo in parcels:
        name, grams, kg, subtotal, cost, wanted = expected[vo.village_id]
        assert (vo.village_name, vo.weight_grams, vo.chargeable_kg, vo.zone, vo.subtotal_idr,
                vo.shipping_idr, vo.status) == (name, grams, kg, "indonesia", subtotal, cost,
                                                "awaiting_payment")
        got = order_lines(vo)
        assert [(l.name, l.sku, l.price_idr, l.quantity) for l in got] == wanted
        assert {l.village_name for l in got} == {name}
        assert sum(l.total_idr for l in got) == vo.subtotal_idr
    assert sum(vo.shipping_idr for vo in parcels) == order.shipping_idr

    for key, product in p.items():
        assert stock(product) == {"coffee": 10, "honey": 4, "ikat": 3, "moringa": 20}[key] - q[key]
    assert lines() == {}

    page = text(client.get(path))
    assert number in page and idr(total) in page
    assert "Bank NTT" in page and "001.01.02.012345-6" in page
    for village in ("Desa Beiposo", "Desa Wolotopo", "Desa Nita"):
        assert village in page

    deliver_due()  # the confirmation went to the outbox with the order; the worker sends it
    [mail] = smtp.messages
    assert mail["to"] == ["maria@example.org"] and number in mail["subject"]
    body = mail["body"]
    assert f"Silakan transfer {idr(total)}" in body and number in body
    assert "Paket dari Desa Wolotopo" in body
    link = re.search(r"https?://shop\.test(/pesanan/\S+)", body).group(1)
    assert link == path

    stranger = app.test_client()
    assert number in text(stranger.get(link))
    assert app.test_client().get(f"/pesanan/{number}").status_code == 404
    assert app.test_client().get(f"/pesanan/{number}?kunci=wrong-token").status_code == 404
    assert app.test_client().get("/pesanan/NTT-000000-XXXXXX").status_code == 404


@pytest.mark.parametrize("address, zones", [
    (NGADA, ("same_regency", "ntt", "ntt")),
    (dict(NGADA, regency="53.07", district="Alok", village_ward="Kota Uneng", postal_code="86113"),
     ("ntt", "ntt", "same_regency")),  # Sikka
    (dict(NGADA, regency="53.08", district="Ende Tengah", village_ward="Potulando", postal_code="86312"),
     ("ntt", "same_regency", "ntt")),  # Ende
    (dict(NGADA, regency="53.71", district="Oebobo", village_ward="Oebufu", postal_code="85111"),
     ("ntt", "ntt", "ntt")),  # Kota Kupang
])
def test_shipping_zone_follows_the_destination(client, three_villages, address, zones):
    fill_cart(client, three_villages)
    quoted, data = quote(client, address)
    kgs = (1, 2, 1)
    goods = 2 * 85000 + 60000 + 2 * 450000 + 2 * 35000
    total = goods + sum(shipping(kg, zone) for kg, zone in zip(kgs, zones))
    assert hidden(text(quoted), "expected_total") == str(total)

    order_path(place(client, data, total))
    order = only_order()
    assert [(vo.zone, vo.shipping_idr) for vo in village_orders(order)] == [
        (zone, shipping(kg, zone)) for kg, zone in zip(kgs, zones)]
    assert order.total_idr == total


@pytest.mark.parametrize("regency, district, village, postal_code, zone", [
    ("53.71", "Oebobo", "Oebufu", "85111", "same_regency"),  # Kota Kupang, Oebobo
    ("53.01", "Kupang Tengah", "Tarus", "85361", "ntt"),  # Kabupaten Kupang
])
def test_a_city_is_not_the_regency_of_the_same_name(client, regency, district, village, postal_code, zone):
    city = make_certified_village(regency_code="53.71")  # Kota Kupang
    add(client, make_sellable_food(city, price_idr=50000, weight_grams=2500, stock=5))  # 3 kg
    quoted, _data = quote(client, dict(NGADA, regency=regency, district=district, village_ward=village,
                                       postal_code=postal_code))
    assert hidden(text(quoted), "expected_total") == str(50000 + shipping(3, zone))


def test_kabupaten_kupang_with_a_kota_kupang_postal_code_is_refused(client):
    """The city's villages do not get the city's rate by naming the regency around it, nor the
    regency's by a postal code of the city: the two must agree."""
    city = make_certified_village(regency_code="53.71")  # Kota Kupang
    product = make_sellable_food(city, price_idr=50000, weight_grams=2500, stock=5)
    add(client, product)
    quoted, data = quote(client, dict(NGADA, regency="53.01", postal_code="85111"))
    assert quoted.status_code == 422
    page = text(quoted)
    assert re.search(r'<p class="error" id="postal_code-error">Kode pos 85111 bukan kode pos Kabupaten '
                     r'Kupang \(852xx–853xx\)\. 85111 adalah kode pos Kota Kupang, Nusa Tenggara Timur\.</p>',
                     page), page
    assert place(client, data, 50000 + shipping(3, "ntt")).status_code == 422
    assert order_count() == 0 and stock(product) == 5


def test_a_signed_in_owner_sees_the_order_without_the_link_and_others_do_not(app, client):
    product = make_sellable_food(price_idr=50000, stock=5)
    buyer, other = make_user(), make_user()
    sign_in(client, buyer)
    add(client, product, 1)
    number = urlsplit(order_path(checkout(client))).path.rsplit("/", 1)[1]
    order = only_order()
    assert order.user_id == buyer.id

    owner = sign_in(app.test_client(), buyer)
    page = owner.get(f"/pesanan/{number}")
    assert page.status_code == 200 and number in text(page)
    assert sign_in(app.test_client(), other).get(f"/pesanan/{number}").status_code == 404
    assert app.test_client().get(f"/pesanan/{number}").status_code == 404


def test_the_checkout_form_is_prefilled_for_a_signed_in_buyer(client):
    product = make_sellable_food()
    buyer = make_user(email="pembeli@example.org")
    sign_in(client, buyer)
    add(client, product)
    page = text(client.get("/checkout"))
    assert 'value="pembeli@example.org"' in page and f'value="{buyer.name}"' in page


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client):
    response = client.get("/checkout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/keranjang")


# --- tampering and double submits ----------------------------------------------------------------

def test_a_lower_expected_total_never_makes_a_cheaper_order(client):
    product = make_sellable_food(price_idr=85000, weight_grams=250, stock=10)
    english(client)
    add(client, product, 2)
    quoted, data = quote(client)
    total = 2 * 85000 + shipping(1, "indonesia")
    assert hidden(text(quoted), "expected_total") == str(total)

    for wrong in (total - 1000, 1, 0, "abc", -5):
        response = place(client, data, wrong)
        assert response.status_code == 422
        page = text(response)
        assert f"The total changed to {idr(total)}. Check it and confirm again." in page
        assert idr(total) in page
    assert order_count() == 0
    assert stock(product) == 10 and lines() == {product.id: 2}


def test_the_page_that_re_asks_carries_the_servers_total(client):
    product = make_sellable_food(price_idr=85000, weight_grams=250, stock=10)
    add(client, product, 2)
    quoted, data = quote(client)
    total = 2 * 85000 + shipping(1, "indonesia")
    response = place(client, data, total - 1000)
    assert response.status_code == 422
    shown = hidden(text(response), "expected_total")
    assert shown == str(total)
    order_path(place(client, data, shown))  # the buyer presses "Place order" again
    assert only_order().total_idr == total


def test_prices_posted_by_the_client_are_ignored(client):
    product = make_sellable_food(price_idr=85000, weight_grams=250, stock=10)
    assert add(client, product, 2, price_idr=1, price_seen_idr=1).status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(CartItem)).one().price_seen_idr == 85000

    total = 2 * 85000 + shipping(1, "indonesia")
    quoted, data = quote(client, price_idr=1, subtotal_idr=1, shipping_idr=0, total_idr=1)
    assert hidden(text(quoted), "expected_total") == str(total)
    order_path(place(client, data, total, price_idr=1, total_idr=1, shipping_idr=0))
    order = only_order()
    assert (order.subtotal_idr, order.shipping_idr, order.total_idr) == (170000, 55000, total)
    [vo] = village_orders(order)
    assert [l.price_idr for l in order_lines(vo)] == [85000]


def test_submitting_the_same_checkout_twice_makes_one_order(app, client):
    product = make_sellable_food(price_idr=85000, stock=10)
    add(client, product, 3)
    quoted, data = quote(client)
    total = hidden(text(quoted), "expected_total")

    first = place(client, data, total)
    path = order_path(first)
    second = place(client, data, total)
    assert second.status_code == 303
    assert order_path(second) == path  # the same order, private link and all
    assert order_count() == 1
    assert stock(product) == 7
    page = client.get(path)
    assert page.status_code == 200 and only_order().number in text(page)


def test_an_overlong_idempotency_key_is_not_a_server_error(client):
    product = make_sellable_food(stock=10)
    add(client, product, 1)
    quoted, data = quote(client, idempotency_key="k" * 100)
    response = place(client, data, hidden(text(quoted), "expected_total"))
    assert response.status_code in (303, 422)
    assert stock(product) == (9 if response.status_code == 303 else 10)


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("phone", "12345", "Enter an Indonesian phone number, e.g. 0812 3456 7890."),
    ("phone", "+1 202 555 0143", "Enter an Indonesian phone number, e.g. 0812 3456 7890."),
    ("postal_code", "8511", "A postal code has 5 digits."),
    ("postal_code", "8511a", "A postal code has 5 digits."),
    ("postal_code", "86413", "Postal code 86413 is not a postal code of Kota Surabaya (601xx–602xx). "
                             "86413 is a postal code of Kabupaten Ngada, Nusa Tenggara Timur."),
    ("regency", "Kota Surabaya", "Choose the regency or city from the list."),
    ("regency", "", "Choose the regency or city."),
    ("regency", "53.09", "Kabupaten Ngada is in Nusa Tenggara Timur, not in Jawa Timur."),
    ("province", "", "Choose the province."),
    ("province", "Atlantis", "Not a valid choice"),
    ("email", "bukan-email", "Enter a valid e-mail address, e.g. nama@contoh.id."),
    ("name", "   ", "Enter the recipient's name."),
])
def test_bad_address_or_contact_is_refused_without_an_order(client, field, value, message):
    product = make_sellable_food(stock=10)
    english(client)
    add(client, product, 2)
    quoted, data = quote(client)
    total = hidden(text(quoted), "expected_total")

    response = place(client, {**data, field: value}, total)
    assert response.status_code == 422
    assert message in text(response)
    assert order_count() == 0
    assert stock(product) == 10 and lines() == {product.id: 2}


def test_a_missing_csrf_token_places_nothing(client):
    product = make_sellable_food(stock=10)
    add(client, product, 1)
    quoted, data = quote(client)
    response = place(client, {**data, "csrf_token": ""}, hidden(text(quoted), "expected_total"))
    assert response.status_code in (400, 422)
    assert order_count() == 0 and stock(product) == 10


# --- cash on delivery ----------------------------------------------------------------------------

def test_cash_on_delivery_when_every_village_allows_it(client):
    a = make_certified_village(cod_allowed=True)
    b = make_certified_village(cod_allowed=True)
    first, second = make_sellable_food(a, stock=5), make_sellable_food(b, stock=5)
    add(client, first, 1)
    add(client, second, 1)

    assert 'value="cod"' in text(client.get("/checkout"))
    order_path(checkout(client, payment_method="cod"))
    order = only_order()
    assert order.payment_method == "cod" and order.status == "awaiting_payment"
    assert order.expires_at is None  # nothing to wait for: paid at the door
    assert stock(first) == 4 and stock(second) == 4


def test_cash_on_delivery_is_refused_when_one_village_does_not_allow_it(client):
    a = make_certified_village(cod_allowed=True)
    b = make_certified_village(cod_allowed=False)
    first, second = make_sellable_food(a, stock=5), make_sellable_food(b, stock=5)
    add(client, first, 1)
    add(client, second, 1)

    assert 'value="cod"' not in text(client.get("/checkout"))
    quoted, data = quote(client, payment_method="cod")
    assert quoted.status_code == 422
    bank, bank_data = quote(client)
    total = hidden(text(bank), "expected_total")
    response = place(client, {**bank_data, "payment_method": "cod"}, total)
    assert response.status_code == 422
    assert order_count() == 0
    assert stock(first) == 5 and stock(second) == 5


def test_an_unknown_payment_method_is_refused(client):
    product = make_sellable_food(stock=5)
    add(client, product, 1)
    quoted, data = quote(client)
    response = place(client, {**data, "payment_method": "stripe"}, hidden(text(quoted), "expected_total"))
    assert response.status_code == 422 and order_count() == 0


# --- unpaid orders expire ------------------------------------------------------------------------

def expire(runner):
    result = runner.invoke(args=["orders", "expire"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    db.session.rollback()  # a real run is a process of its own
    return result.output


def test_an_unpaid_transfer_expires_and_gives_its_stock_back_once(app, client, runner):
    product = make_sellable_food(stock=10)
    add(client, product, 3)
    order_path(checkout(client))
    keeper = app.test_client()  # another buyer whose hold has not run out
    add(keeper, product, 2)
    order_path(checkout(keeper))
    assert stock(product) == 5

    db.session.expire_all()
    late, fresh = db.session.scalars(select(Order).order_by(Order.id)).all()
    late.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()

    output = expire(runner)
    assert "expired 1 order(s)" in output and late.number in output and fresh.number not in output
    db.session.expire_all()
    assert db.session.get(Order, late.id).status == "expired"
    assert {vo.status for vo in village_orders(late)} == {"expired"}
    assert db.session.get(Order, fresh.id).status == "awaiting_payment"
    assert stock(product) == 8

    assert "expired 0 order(s)" in expire(runner)
    assert stock(product) == 8
    events = db.session.scalars(select(OrderEvent).where(
        OrderEvent.order_id == late.id, OrderEvent.to_status == "expired")).all()
    assert len(events) == 1


# --- the office ----------------------------------------------------------------------------------

def test_the_office_marks_a_transfer_paid_once(app, client, runner):
    product = make_sellable_food(stock=10)
    add(client, product, 2)
    path = order_path(checkout(client))
    assert "Bank NTT" in text(client.get(path))  # how to pay, while unpaid
    order = only_order()
    verifier = sign_in(app.test_client(), make_user(role="verifier", email="petugas@ntt.example"))
    english(verifier)

    page = text(verifier.get("/kantor/pesanan"))
    assert order.number in page
    transfer = {"csrf_token": csrf_token(page), "amount": str(order.total_idr),
                "received_on": today_wita().isoformat(), "reference": "BNTT0001"}
    response = verifier.post(f"/kantor/pesanan/{order.id}/transfer", data=transfer, follow_redirects=True)
    assert f"Order {order.number} is paid." in text(response)
    db.session.expire_all()
    paid = db.session.get(Order, order.id)
    assert paid.status == "paid" and paid.paid_at is not None
    assert {vo.status for vo in village_orders(paid)} == {"paid"}
    paid_at = paid.paid_at
    event_count = db.session.scalar(select(func.count()).select_from(OrderEvent)
                                    .where(OrderEvent.order_id == order.id))
    assert stock(product) == 8
    assert "Bank NTT" not in text(client.get(path))  # nothing left to pay

    # The same transfer recorded twice (a double click) is refused and changes nothing.
    response = verifier.post(f"/kantor/pesanan/{order.id}/transfer", data=transfer, follow_redirects=True)
    assert "A transfer with the reference BNTT0001 is already recorded for this order." in text(response)
    db.session.expire_all()
    again = db.session.get(Order, order.id)
    assert again.status == "paid" and again.paid_at == paid_at
    assert db.session.scalar(select(func.count()).select_from(OrderEvent)
                             .where(OrderEvent.order_id == order.id)) == event_count

    # A paid order is never expired, however late.
    again.expires_at = now_utc() - timedelta(hours=1)
    db.session.commit()
    expire(runner)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "paid" and stock(product) == 8


def test_an_expired_order_cannot_be_marked_paid(app, client, runner):
    product = make_sellable_food(stock=10)
    add(client, product, 2)
    order_path(checkout(client))
    order = only_order()
    order.expires_at = now_utc() - timedelta(minutes=5)
    db.session.commit()
    expire(runner)

    verifier = sign_in(app.test_client(), make_user(role="verifier"))
    english(verifier)
    response = verifier.post(f"/kantor/pesanan/{order.id}/transfer", follow_redirects=True, data={
        "csrf_token": token(verifier), "amount": str(order.total_idr), "received_on": today_wita().isoformat(),
        "reference": "BNTT0002"})
    assert f"was no longer awaiting payment: {idr(order.total_idr)} is to be returned" in text(response)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "expired"
    assert db.session.get(Order, order.id).paid_at is None
    assert stock(product) == 10


def test_only_the_office_marks_orders_paid(app, client):
    product = make_sellable_food(stock=10)
    add(client, product, 1)
    order_path(checkout(client))
    order = only_order()
    transfer = {"amount": str(order.total_idr), "received_on": today_wita().isoformat(), "reference": "BNTT0003"}
    buyer = sign_in(app.test_client(), make_user())
    response = buyer.post(f"/kantor/pesanan/{order.id}/transfer", data={"csrf_token": token(buyer), **transfer})
    assert response.status_code == 403
    assert app.test_client().post(f"/kantor/pesanan/{order.id}/transfer", data=transfer).status_code in (302, 303, 400)
    verifier = sign_in(app.test_client(), make_user(role="verifier"))
    verifier.post(f"/kantor/pesanan/{order.id}/transfer", data=transfer)  # no CSRF token
    assert only_order().status == "awaiting_payment"


def test_a_cod_order_is_not_confirmed_as_a_bank_transfer(app, client):
    village = make_certified_village(cod_allowed=True)
    add(client, make_sellable_food(village, stock=5), 1)
    order_path(checkout(client, payment_method="cod"))
    order = only_order()
    verifier = sign_in(app.test_client(), make_user(role="verifier"))
    english(verifier)
    response = verifier.post(f"/kantor/pesanan/{order.id}/transfer", follow_redirects=True, data={
        "csrf_token": token(verifier), "amount": str(order.total_idr), "received_on": today_wita().isoformat(),
        "reference": "BNTT0004"})
    assert "Only bank transfers are recorded here." in text(response)
    assert only_order().status == "awaiting_payment"


def rates_in_db():
    db.session.expire_all()
    return {r.zone: r.rate_per_kg_idr for r in db.session.scalars(select(ShippingRate))}


def test_the_office_sets_shipping_rates_and_the_next_quote_uses_them(app, client):
    product = make_sellable_food(price_idr=85000, weight_grams=1500, stock=10)  # 2 kg
    add(client, product, 1)
    verifier = sign_in(app.test_client(), make_user(role="verifier"))
    page = text(verifier.get("/kantor/ongkir"))
    assert 'value="55000"' in page

    response = verifier.post("/kantor/ongkir", data={
        "csrf_token": csrf_token(page), "same_regency": "15000", "ntt": "30000", "indonesia": "70000"})
    assert response.status_code == 303
    assert rates_in_db() == {"same_regency": 15000, "ntt": 30000, "indonesia": 70000}

    quoted, _data = quote(client)
    assert hidden(text(quoted), "expected_total") == str(85000 + 2 * 70000)
    quoted, _data = quote(client, NGADA)
    assert hidden(text(quoted), "expected_total") == str(85000 + 2 * 15000)


@pytest.mark.parametrize("bad", ["-1", "abc", "", "12.5", "10000001"])
def test_a_bad_shipping_rate_is_refused_and_nothing_changes(app, bad):
    verifier = sign_in(app.test_client(), make_user(role="verifier"))
    english(verifier)
    page = text(verifier.get("/kantor/ongkir"))
    response = verifier.post("/kantor/ongkir", data={
        "csrf_token": csrf_token(page), "same_regency": "15000", "ntt": bad, "indonesia": "70000"})
    assert response.status_code == 422
    assert rates_in_db() == RATES


def test_only_the_office_sets_shipping_rates(app):
    buyer = sign_in(app.test_client(), make_user())
    assert buyer.get("/kantor/ongkir").status_code == 403
    response = buyer.post("/kantor/ongkir", data={"csrf_token": token(buyer), "same_regency": "1",
                                                  "ntt": "1", "indonesia": "1"})
    assert response.status_code == 403
    assert rates_in_db() == RATES


def test_checkout_is_titled_so_and_lists_what_is_being_bought(client):
    coffee = make_sellable_food(name="Kopi Arabika Bajawa", price_idr=85000, stock=10)
    honey = make_sellable_food(name="Madu Hutan Timor", price_idr=120000, stock=10)
    add(client, coffee, 2)
    add(client, honey, 1)
    page = text(client.get("/checkout"))
    assert "<h1>Checkout</h1>" in page and "<title>Checkout" in page
    assert "2 × Kopi Arabika Bajawa" in page and "Rp 170.000" in page
    assert "1 × Madu Hutan Timor" in page and "Rp 120.000" in page
