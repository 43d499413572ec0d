"""The cart's lines (issue 17): every quantity box capped at the stock, more than there is sets the
most there is and says so, a remove button and a thumbnail per line, quantity 0 says what it
did; bad input is a message, never a 500; the page's queries do not grow with its lines."""
import html as htmllib
import re

import pytest
from PIL import Image
from sqlalchemy import select

from storefront.cart.models import CartItem
from storefront.extensions import db
from storefront.media import save_image
from storefront.products.models import ProductPhoto

from .conftest import csrf_token
from .factories import make_certified_village, make_product, make_sellable_food


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def lines():
    db.session.expire_all()
    return {i.product_id: i.quantity for i in db.session.scalars(select(CartItem))}


def english(client):
    client.get("/bahasa/en")


def add(client, product, quantity=1):
    """Through the product page's own form (no CSRF token: the origin guards it)."""
    assert client.get(f"/produk/{product.slug}").status_code == 200
    return client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": quantity},
                       follow_redirects=True)


def post(client, path, product_id, **data):
    token = csrf_token(client.get("/keranjang").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "product_id": product_id, **data}, follow_redirects=True)


def line_of(page, product):
    """The <li> of ``product`` on the cart page."""
    for item in re.findall(r'<li class="cart-line">.*?</li>', page, re.S):
        if f'name="product_id" value="{product.id}"' in item:
            return item
    raise AssertionError(f"no line for {product.name}")


def with_photo(product):
    key = save_image(Image.new("RGB", (80, 60), (120, 60, 20)), f"foto-{product.slug}")
    db.session.add(ProductPhoto(product_id=product.id, position=0, key=key, alt="Foto"))
    db.session.commit()
    return key


# --- more than there is -------------------------------------------------------------------------

def test_typing_more_than_the_stock_sets_the_most_there_is_and_says_so(client):
    """The issue's case: 500 typed for a product with 58 left gave 1 and "only 58 left"."""
    product = make_sellable_food(name="Kopi Wae Rebo", stock=58)
    english(client)
    add(client, product, 1)
    page = text(post(client, "/keranjang/ubah", product.id, quantity="500"))
    assert "Only 58 of Kopi Wae Rebo left, so your cart now holds 58." in page
    assert lines() == {product.id: 58}
    assert 'max="58" value="58"' in line_of(page, product)


def test_the_cart_says_it_in_indonesian_too(client):
    product = make_sellable_food(name="Madu Hutan", stock=4)
    add(client, product, 2)
    page = text(post(client, "/keranjang/ubah", product.id, quantity="9"))
    assert "Hanya tersisa 4 Madu Hutan, jadi keranjang Anda kini berisi 4." in page
    page = text(post(client, "/keranjang/ubah", product.id, quantity="0"))
    assert "Madu Hutan dihapus dari keranjang Anda." in page
    assert lines() == {}


def test_adding_more_than_is_left_fills_the_line_to_the_stock(client):
    product = make_sellable_food(name="Gula Lontar", stock=5)
    english(client)
    page = text(add(client, product, 3))
    assert "Gula Lontar is in your cart." in page and lines() == {product.id: 3}
    page = text(add(client, product, 4))
    assert "Only 5 of Gula Lontar left, so your cart now holds 5." in page
    assert lines() == {product.id: 5}
    page = text(add(client, product, 1))
    assert "Only 5 of Gula Lontar left, and your cart already holds them all." in page
    assert lines() == {product.id: 5}


def test_a_line_holds_at_most_999_even_when_more_is_in_stock(client):
    product = make_sellable_food(name="Garam Kupang", stock=5000)
    english(client)
    add(client, product, 990)
    page = text(add(client, product, 20))
    assert "One order can take at most 999 of Garam Kupang, so your cart now holds 999." in page
    assert lines() == {product.id: 999}
    assert 'max="999"' in line_of(page, product)


def test_a_sold_out_product_is_not_set_to_anything(client):
    product = make_sellable_food(name="Vanili Alor", stock=3)
    english(client)
    add(client, product, 2)
    product.stock = 0
    db.session.commit()
    page = text(post(client, "/keranjang/ubah", product.id, quantity="1"))
    assert "Vanili Alor is sold out." in page and lines() == {product.id: 2}
    assert 'max="0"' in line_of(page, product)  # only 0 (remove) fits the box now


# --- remove and quantity 0 ----------------------------------------------------------------------

def test_each_line_has_a_remove_button_that_removes_that_line_only(client):
    coffee = make_sellable_food(name="Kopi Bajawa")
    honey = make_sellable_food(name="Madu Sumba")
    english(client)
    add(client, coffee, 2)
    add(client, honey, 1)
    page = text(client.get("/keranjang"))
    for product in (coffee, honey):
        line = line_of(page, product)
        assert 'action="/keranjang/hapus"' in line
        assert re.search(rf'Remove<span class="visually-hidden"> {product.name}</span></button>', line)
    page = text(post(client, "/keranjang/hapus", coffee.id))
    assert "Kopi Bajawa is removed from your cart." in page
    assert lines() == {honey.id: 1}
    assert "Kopi Bajawa" not in page[page.index('<section class="parcel">'):]
    # Pressed twice (the back button): told, nothing else happens.
    assert "That product is not in your cart." in text(post(client, "/keranjang/hapus", coffee.id))
    assert lines() == {honey.id: 1}


def test_quantity_0_says_it_removed_the_line(client):
    product = make_sellable_food(name="Kenari Alor")
    english(client)
    add(client, product, 2)
    page = text(post(client, "/keranjang/ubah", product.id, quantity="0"))
    assert "Kenari Alor is removed from your cart." in page and "Your cart is empty." in page
    assert lines() == {}


def test_a_line_no_longer_for_sale_can_still_be_removed(client):
    village = make_certified_village()
    product = make_sellable_food(village, name="Kopi Tanpa Izin Lagi")
    english(client)
    add(client, product, 1)
    product.published = False
    db.session.commit()
    page = text(post(client, "/keranjang/ubah", product.id, quantity="1"))
    assert "This product is not for sale right now." in page and lines() == {product.id: 1}
    assert 'max="0"' in line_of(page, product)
    page = text(post(client, "/keranjang/hapus", product.id))
    assert "Kopi Tanpa Izin Lagi is removed from your cart." in page and lines() == {}


def test_removing_needs_the_token_and_touches_only_ones_own_cart(app, client):
    mine = make_sellable_food(name="Kopi Milik Saya")
    add(client, mine, 1)
    answer = client.post("/keranjang/hapus", data={"product_id": mine.id})
    assert answer.status_code == 400 and lines() == {mine.id: 1}
    stranger = app.test_client()
    english(stranger)
    other = make_sellable_food(name="Kopi Orang Lain")
    add(stranger, other, 1)
    page = text(post(stranger, "/keranjang/hapus", mine.id))
    assert "That product is not in your cart." in page
    assert lines() == {mine.id: 1, other.id: 1}


@pytest.mark.parametrize("product_id, quantity", [
    ("abc", "1"), ("", "1"), ("-3", "1"), ("99999999999999999999", "1"), ("1", "abc"), ("1", ""),
    ("1", "-1"), ("1", "1000"), ("1", "1.5"), ("1", "99999999999999999999"),
])
def test_bad_input_is_a_message_never_a_500_and_changes_nothing(client, product_id, quantity):
    product = make_sellable_food(name="Abon Ikan", stock=5)
    english(client)
    add(client, product, 2)
    pid = str(product.id) if product_id == "1" else product_id
    answer = post(client, "/keranjang/ubah", pid, quantity=quantity)
    assert answer.status_code == 200
    page = text(answer)
    assert "Choose a quantity from 0 to 999." in page or "That product is not in your cart." in page
    assert lines() == {product.id: 2}
    if product_id != "1":
        answer = post(client, "/keranjang/hapus", pid)
        assert answer.status_code == 200 and "That product is not in your cart." in text(answer)
        assert lines() == {product.id: 2}


# --- the page -----------------------------------------------------------------------------------

def test_each_line_has_a_thumbnail_and_a_box_capped_at_the_stock(client):
    village = make_certified_village()
    coffee = make_sellable_food(village, name="Kopi Berfoto", stock=7)
    key = with_photo(coffee)
    ikat = make_product(village, "tenun", name="Sarung Tanpa Foto", stock=2)
    add(client, coffee, 1)
    add(client, ikat, 1)
    page = text(client.get("/keranjang"))
    photo_line, plain_line = line_of(page, coffee), line_of(page, ikat)
    assert re.search(rf'<img class="thumb" src="/media/{key}-s.jpg" alt="" width="64" height="64"', photo_line)
    assert '<span class="thumb" aria-hidden="true"></span>' in plain_line
    assert 'max="7"' in photo_line and 'max="2"' in plain_line
    assert "Stok: 7" in photo_line and "Stok: 2" in plain_line
    assert client.get(f"/media/{key}-s.jpg").status_code == 200


def test_the_cart_page_asks_the_same_number_of_queries_for_more_lines(client, count_queries):
    villages = [make_certified_village() for _ in range(4)]
    products = [make_sellable_food(villages[n % 4], name=f"Produk Keranjang {n}") for n in range(8)]
    for product in products[:4]:
        with_photo(product)
    for product in products[:2]:
        add(client, product, 1)
    with count_queries() as few:
        assert client.get("/keranjang").status_code == 200
    for product in products[2:]:
        add(client, product, 1)
    with count_queries() as many:
        page = client.get("/keranjang")
    assert page.status_code == 200 and page.get_data(as_text=True).count('class="cart-line"') == 8
    assert many.count == few.count, (few.statements, many.statements)


def test_add_to_cart_still_refuses_another_sites_form(client):
    product = make_sellable_food()
    answer = client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": "1"},
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403 and lines() == {}
