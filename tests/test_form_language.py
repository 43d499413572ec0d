"""Every form speaks the visitor's language, WTForms' own messages included (issue 13, item 15).

The abuse tests (tests/test_abuse.py) post broken values to every form and check that no English
text, WTForms' messages among it, shows on an Indonesian page; these check the forms' base."""
from flask_wtf import FlaskForm

from storefront.forms import ShopForm

from .conftest import csrf_token
from .factories import make_user, sign_in


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_form_of_the_shop_takes_its_messages_from_the_shop(app):
    forms = [cls for cls in _all_subclasses(FlaskForm) if cls.__module__.startswith("storefront.")]
    assert len(forms) > 10
    assert [cls.__qualname__ for cls in forms if not issubclass(cls, ShopForm)] == []


def test_a_refused_choice_is_explained_in_indonesian_and_in_english(client):
    sign_in(client, make_user())
    for lang, expected in (("id", "Pilihan ini tidak tersedia."), ("en", "Not a valid choice.")):
        client.set_cookie("lang", lang, domain="shop.test")
        page = client.get("/akun/alamat").get_data(as_text=True)
        answer = client.post("/akun/alamat", data={
            "csrf_token": csrf_token(page), "name": "Budi", "phone": "0812 3456 7890",
            "province": "Atlantis", "regency": "Denpasar", "district": "Denpasar Barat",
            "village_ward": "Dauh Puri", "postal_code": "80113", "street": "Jl. Gajah Mada 1"})
        assert answer.status_code == 422
        assert expected in answer.get_data(as_text=True), lang
