"""Signed-in buyers save an address at checkout and pick it next time."""
import re

from storefront.accounts.models import Address
from storefront.extensions import db

from .conftest import csrf_token
from .factories import make_sellable_food, make_user, sign_in

ADDRESS = {"name": "Budi Santoso", "phone": "0812 3456 7890", "province": "Bali",
           "regency": "Kota Denpasar", "district": "Denpasar Barat", "village_ward": "Dauh Puri",
           "postal_code": "80113", "street": "Jl. Gajah Mada 1"}


def _add(client, product):
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    client.post("/keranjang/tambah", data={"csrf_token": csrf_token(page), "product_id": product.id,
                                           "quantity": 1})


def test_address_saved_at_checkout_is_offered_and_prefilled_next_time(app):
    user = make_user(email="budi@example.org")
    product = make_sellable_food(stock=5)
    client = sign_in(app.test_client(), user)
    _add(client, product)
    page = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    data = dict(ADDRESS, csrf_token=csrf_token(page), idempotency_key=key, email=user.email,
                payment_method="bank_transfer", save_address="y", action="quote")
    quoted = client.post("/checkout", data=data).get_data(as_text=True)
    data.update(action="place", expected_total=re.search(
        r'name="expected_total" type="hidden" value="(\d+)"', quoted).group(1))
    assert client.post("/checkout", data=data).status_code == 303
    db.session.expire_all()
    saved = db.session.query(Address).filter_by(user_id=user.id).one()
    assert saved.phone == "+6281234567890" and saved.postal_code == "80113"

    _add(client, product)
    page = client.get("/checkout").get_data(as_text=True)
    assert f"/checkout?alamat={saved.id}" in page
    prefilled = client.get(f"/checkout?alamat={saved.id}").get_data(as_text=True)
    assert 'value="80113"' in prefilled and "Jl. Gajah Mada 1" in prefilled

    other = sign_in(app.test_client(), make_user(email="ina@example.org"))
    _add(other, product)
    assert "80113" not in other.get(f"/checkout?alamat={saved.id}").get_data(as_text=True)
