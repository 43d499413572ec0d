""""Add to cart" carries no CSRF token (its pages are the same for every visitor) and refuses a
post from another site by what the browser says about its origin; every other form keeps
Flask-WTF's token."""
import html as htmllib

import pytest
from sqlalchemy import func, select

from storefront.cart.models import Cart, CartItem
from storefront.extensions import db

from .factories import make_sellable_food


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def cart_rows():
    return db.session.scalar(select(func.count()).select_from(Cart)), \
        db.session.scalar(select(func.count()).select_from(CartItem))


def post_add(client, product, headers):
    """The product page's form, posted without a token and with exactly ``headers`` saying
    where it comes from (the client's own ``Sec-Fetch-Site`` is dropped)."""
    client.environ_base.pop("HTTP_SEC_FETCH_SITE", None)
    return client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": "1"},
                       headers=headers)


CROSS_SITE = {
    "another site (Fetch Metadata)": {"Sec-Fetch-Site": "cross-site"},
    "a sibling host of the same domain": {"Sec-Fetch-Site": "same-site"},
    "cross-site, whatever Origin says": {"Sec-Fetch-Site": "cross-site", "Origin": "http://shop.test"},
    "another origin (older browser)": {"Origin": "https://evil.example"},
    "an opaque origin": {"Origin": "null"},
    "a host that only starts like the shop's": {"Origin": "http://shop.test.evil.example"},
    "the shop's host on another port": {"Origin": "http://shop.test:8080"},
    "another site's page as referrer": {"Referer": "https://evil.example/shop.test/produk"},
    "nothing says where it comes from": {},
}


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_cross_site_post_is_refused_and_nothing_is_in_the_cart(client, headers):
    product = make_sellable_food()
    answer = post_add(client, product, headers)
    assert answer.status_code == 403
    page = text(answer)
    assert "Formulir ini tidak dikirim dari toko ini" in page  # "The form was not sent from this shop"
    assert "Set-Cookie" not in answer.headers  # no cart cookie, no session written
    assert cart_rows() == (0, 0)
    assert product.name not in text(client.get("/keranjang"))


SAME_ORIGIN = {
    "Fetch Metadata: same origin": {"Sec-Fetch-Site": "same-origin"},
    "Fetch Metadata: typed by the person": {"Sec-Fetch-Site": "none"},
    "Origin of the request's host (older browser)": {"Origin": "http://shop.test"},
    "Referer of the shop's own page": {"Referer": "http://shop.test/produk/kopi?x=1"},
}


@pytest.mark.parametrize("headers", SAME_ORIGIN.values(), ids=SAME_ORIGIN.keys())
def test_a_post_from_the_shops_own_page_needs_no_token(client, headers):
    product = make_sellable_food()
    page = text(client.get(f"/produk/{product.slug}"))
    assert 'name="csrf_token"' not in page and 'action="/keranjang/tambah"' in page
    answer = post_add(client, product, headers)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/keranjang")
    assert product.name in text(client.get("/keranjang"))
    assert cart_rows() == (1, 1)


def test_the_public_address_counts_as_the_shops_origin_behind_a_proxy(app, client):
    """Behind a TLS proxy the app may see http while the browser says https: PUBLIC_URL's origin
    is the shop's own too."""
    app.config["PUBLIC_URL"] = "https://shop.test"
    product = make_sellable_food()
    assert post_add(client, product, {"Origin": "https://shop.test"}).status_code == 303
    assert post_add(client, product, {"Origin": "https://evil.example"}).status_code == 403


@pytest.mark.parametrize("path", ["/keranjang/ubah", "/keranjang/terima", "/masuk", "/daftar", "/checkout"])
def test_every_other_form_still_needs_its_token(client, path):
    """Only "Add to cart" is guarded by its origin: a same-origin post to any other form without
    Flask-WTF's token is refused."""
    product = make_sellable_food()
    assert post_add(client, product, {"Sec-Fetch-Site": "same-origin"}).status_code == 303  # a cart
    answer = client.post(path, data={"product_id": product.id, "quantity": "3", "email": "a@example.org"},
                         headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 400
    assert "Formulir sudah kedaluwarsa" in text(answer)  # "The form has expired"
    assert db.session.scalar(select(CartItem.quantity)) == 1
