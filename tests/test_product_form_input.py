"""What a village types in the number fields of the product form: rupiah as Indonesians write
them, stored as whole rupiah; anything else refused with exactly one clear message at its field,
in the page's language, and nothing saved.

One client goes through many spellings (each a real GET and POST of the form): fast, and every
case still goes through the form, the view and the database.
"""
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.money import RupiahError, parse_price, read_rupiah
from storefront.products.models import Product

from .factories import make_certified_village, make_product, make_user, sign_in
from .test_portal_listings import field_errors, member_client, post_edit, post_new, shown_value, text

#: Typed -> stored. The catalogue's price filter reads prices with the same function.
ACCEPTED = [
    ("85000", 85000), ("85.000", 85000), ("Rp 85.000", 85000), ("Rp85.000", 85000), ("rp. 85.000,-", 85000),
    ("85.000,00", 85000), ("85rb", 85000), ("85 ribu", 85000), ("85RB", 85000), ("85k", 85000),
    ("1,5jt", 1500000), ("2 juta", 2000000), ("85,000", 85000), ("Rp 1.250.000", 1250000),
    (" 85.000 ", 85000), ("100.000.000", 100_000_000), ("1", 1),
]

PRICE_RANGE = "The price must be more than Rp 0 and at most Rp 100.000.000."
PRICE_UNREADABLE = "Enter the price in rupiah, e.g. 85000, 85.000, Rp 85.000 or 85rb."
NO_CENTS = "Rupiah have no cents: enter the price in whole rupiah, e.g. 85.000 (not 85.000,50)."
WEIGHT_RANGE = "The weight must be more than 0 g and at most 50.000 g (50 kg)."
#: (field, typed, the one message shown at the field)
REFUSED = [
    ("price_idr", "", "Enter the price in rupiah."),
    ("price_idr", "   ", "Enter the price in rupiah."),
    ("price_idr", "-5", PRICE_RANGE),
    ("price_idr", "Rp -5.000", PRICE_RANGE),
    ("price_idr", "\u22125000", PRICE_RANGE),
    ("price_idr", "0", PRICE_RANGE),
    ("price_idr", "100.000.001", PRICE_RANGE),
    ("price_idr", "99999999999", PRICE_RANGE),
    ("price_idr", "85.000,50", NO_CENTS),
    ("price_idr", "85,5", NO_CENTS),
    ("price_idr", "murah", PRICE_UNREADABLE),
    ("price_idr", "delapan puluh ribu", PRICE_UNREADABLE),
    ("price_idr", "1e6", PRICE_UNREADABLE),
    ("price_idr", "-", PRICE_UNREADABLE),
    ("stock", "-5", "The stock cannot be negative; 0 means sold out."),
    ("stock", "", "Enter the stock; 0 means sold out."),
    ("stock", "1,5", "Enter the stock as a whole number, e.g. 12."),
    ("stock", "100001", "The stock must be between 0 and 100.000."),
    ("weight_grams", "-5", WEIGHT_RANGE),
    ("weight_grams", "0", WEIGHT_RANGE),
    ("weight_grams", "50.001", WEIGHT_RANGE),
    ("weight_grams", "berat", "Enter the weight in whole grams, e.g. 250."),
]


def test_every_way_of_writing_rupiah_is_stored_as_whole_rupiah(app):
    village = make_certified_village()
    member = member_client(app, village)
    for number, (typed, _) in enumerate(ACCEPTED):
        response = post_new(member, name=f"Kopi Uji {number}", price_idr=typed)
        assert response.status_code == 303, (typed, field_errors(text(response), "price_idr"))
    db.session.expire_all()
    stored = dict(db.session.execute(select(Product.name, Product.price_idr)).all())
    assert stored == {f"Kopi Uji {number}": rupiah for number, (_, rupiah) in enumerate(ACCEPTED)}


def test_bad_numbers_are_refused_with_exactly_one_message_and_kept_to_be_fixed(app):
    village = make_certified_village()
    member = member_client(app, village)
    wrong = []
    for field, typed, message in REFUSED:
        response = post_new(member, **{field: typed})
        page = text(response)
        shown = (response.status_code, field_errors(page, field), shown_value(page, field))
        if shown != (422, [message], typed.strip()):
            wrong.append(f"{field}={typed!r}: {shown}")
    assert not wrong, "\n".join(wrong)
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_three_mistakes_make_three_messages_one_per_field(app):
    village = make_certified_village()
    response = post_new(member_client(app, village), price_idr="-5", stock="-5", weight_grams="-5")
    page = text(response)
    assert [field_errors(page, f) for f in ("price_idr", "stock", "weight_grams")] == [
        [PRICE_RANGE], ["The stock cannot be negative; 0 means sold out."], [WEIGHT_RANGE]]


def test_the_edit_form_takes_rupiah_the_same_way(app):
    village = make_certified_village()
    product = make_product(village, "tenun", price_idr=300000)
    member = member_client(app, village)
    assert post_edit(member, product.id, price_idr="Rp 350rb").status_code == 303
    db.session.expire_all()
    assert db.session.get(Product, product.id).price_idr == 350000
    response = post_edit(member, product.id, price_idr="350.000,50")
    assert response.status_code == 422 and field_errors(text(response), "price_idr") == [NO_CENTS]


def test_messages_are_indonesian_on_the_indonesian_page(app):
    village = make_certified_village()
    member = sign_in(app.test_client(), make_user("village_member", village))  # Indonesian by default
    expected = {
        "-5": "Harga harus lebih dari Rp 0 dan paling banyak Rp 100.000.000.",
        "85.000,50": "Rupiah tidak memakai sen: masukkan harga dalam rupiah bulat, misalnya 85.000 (bukan 85.000,50).",
        "murah": "Masukkan harga dalam rupiah, misalnya 85000, 85.000, Rp 85.000, atau 85rb.",
    }
    for typed, message in expected.items():
        page = text(post_new(member, price_idr=typed))
        assert field_errors(page, "price_idr") == [message]
    page = text(post_new(member, stock="-5"))
    assert field_errors(page, "stock") == ["Stok tidak boleh negatif; 0 berarti habis."]


def test_one_reader_of_rupiah_says_why_it_refuses():
    assert [read_rupiah(typed) for typed, _ in ACCEPTED] == [rupiah for _, rupiah in ACCEPTED]
    reasons = {}
    for typed in ("-5", "Rp -85.000", "85.000,50", "85.00", "abc", "", "2.147.483.648", "1,5jt,-"):
        try:
            read_rupiah(typed)
        except RupiahError as exc:
            reasons[typed] = exc.reason
    assert reasons == {"-5": "negative", "Rp -85.000": "negative", "85.000,50": "fraction", "85.00": "fraction",
                       "abc": "unreadable", "": "unreadable", "2.147.483.648": "too_large",
                       "1,5jt,-": "unreadable"}
    assert parse_price("85rb") == 85000 and parse_price("-5") is None  # the catalogue's filter
