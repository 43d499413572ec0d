"""Bahasa Indonesia by default, English by choice; the catalogue is complete."""
from pathlib import Path

from babel.messages.pofile import read_po

from .factories import make_sellable_food

PO_FILE = Path(__file__).resolve().parent.parent / "storefront/translations/id/LC_MESSAGES/messages.po"


def test_every_message_has_an_indonesian_translation():
    with PO_FILE.open("rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and (m.fuzzy or not (
        all(m.string) if isinstance(m.string, tuple) else m.string))]
    assert missing == []


def test_shop_speaks_indonesian_by_default_and_english_on_request(client):
    product = make_sellable_food(stock=0, price_idr=85000)
    html = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert "Habis" in html and "Dokumen legalitas" in html
    assert "Rp 85.000" in html and "Sold out" not in html
    client.get("/bahasa/en")
    html = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert "Sold out" in html and "Rp 85.000" in html and "Habis" not in html


def test_form_errors_are_in_the_buyers_language(client):
    from .conftest import csrf_token

    page = client.get("/masuk").get_data(as_text=True)
    html = client.post("/masuk", data={"csrf_token": csrf_token(page), "email": "bukan-email",
                                       "password": ""}).get_data(as_text=True)
    assert "Masukkan alamat email yang benar" in html and "Masukkan kata sandi Anda." in html
