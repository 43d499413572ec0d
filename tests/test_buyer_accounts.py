"""Buyer accounts: sign up, sign in and out, password reset by e-mailed link, order history and
saved addresses. Reset mail goes to a real SMTP server on loopback."""
import hashlib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import Address, PasswordReset, User
from storefront.clock import now_utc
from storefront.extensions import db
from storefront.orders.models import Order

from .conftest import csrf_token
from .factories import make_user, sign_in

PASSWORD = "a-long-test-password"
NEW_PASSWORD = "a-brand-new-password-42"
RESET_LINK = re.compile(r"http://shop\.test(/reset-sandi/[A-Za-z0-9_\-]+)")
CSRF_VALUES = re.compile(r'name="csrf_token"[^>]*value="[^"]+"')


# --- helpers -------------------------------------------------------------------------------------

def _post_form(client, path, data, page_path=None):
    """GET the page for its CSRF token, then POST ``data`` to ``path``."""
    page = client.get(page_path or path)
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **data})


def _sign_up(client, name="Maria Ndun", email="maria@example.org", password=PASSWORD,
             confirm=None, next_url=None):
    path = "/daftar" + (f"?next={next_url}" if next_url else "")
    return _post_form(client, path, {"name": name, "email": email, "password": password,
                                     "confirm": password if confirm is None else confirm})


def _sign_in(client, email, password):
    return _post_form(client, "/masuk", {"email": email, "password": password})


def _users(email):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User)
                             .where(func.lower(User.email) == email.lower()))


def _signed_in(client):
    return "/keluar" in client.get("/").get_data(as_text=True)


def _request_reset(client, email):
    return _post_form(client, "/lupa-sandi", {"email": email})


def _reset_link(mailbox, index=-1):
    return RESET_LINK.search(mailbox.messages[index]["body"]).group(1)


def _choose_password(client, link, password=NEW_PASSWORD, confirm=None):
    page = client.get(link)
    assert page.status_code == 200
    return client.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                   "password": password,
                                   "confirm": password if confirm is None else confirm})


def _utc(moment):
    """SQLite gives naive datetimes back; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _open_resets(user_id):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None)))


# --- sign up -------------------------------------------------------------------------------------

def test_sign_up_creates_a_customer_signs_in_and_goes_to_next(client):
    response = _sign_up(client, email="Maria@Example.org ", next_url="/desa")
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).path == "/desa"
    db.session.expire_all()
    user = db.session.scalars(select(User).where(User.email == "maria@example.org")).one()
    assert user.role == "customer" and user.name == "Maria Ndun" and user.active
    assert user.check_password(PASSWORD) and PASSWORD not in user.password_hash
    assert _signed_in(client)
    account = client.get("/akun")
    assert account.status_code == 200
    body = account.get_data(as_text=True)
    assert "Maria Ndun" in body and "maria@example.org" in body
    assert "/akun/pesanan" in body and "/akun/alamat" in body


@pytest.mark.parametrize("next_url", [None, "https://evil.example/", "//evil.example/x"])
def test_sign_up_goes_to_the_account_page_unless_next_is_on_this_site(client, next_url):
    response = _sign_up(client, next_url=next_url)
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).path == "/akun"
    assert urlparse(response.headers["Location"]).netloc in ("", "shop.test")


def test_sign_up_with_a_taken_email_says_so_whatever_the_case(client):
    make_user(email="ina@example.org")
    response = _sign_up(client, email="INA@example.ORG")
    assert response.status_code == 422
    assert "ina@example.org" in response.get_data(as_text=True)
    assert _users("ina@example.org") == 1
    assert not _signed_in(client)


@pytest.mark.parametrize("password, confirm", [
    ("short-pass", "short-pass"),            # under 12 characters
    (PASSWORD, PASSWORD + "-typo"),          # confirmation differs
    (PASSWORD, ""),                          # confirmation missing
])
def test_sign_up_refuses_a_short_or_unconfirmed_password(client, password, confirm):
    response = _sign_up(client, password=password, confirm=confirm)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert _users("maria@example.org") == 0
    assert not _signed_in(client)


@pytest.mark.parametrize("field, value", [("name", ""), ("email", "not-an-email")])
def test_sign_up_needs_a_name_and_a_valid_email(client, field, value):
    data = {"name": "Maria", "email": "maria@example.org", "password": PASSWORD,
            "confirm": PASSWORD, field: value}
    assert _post_form(client, "/daftar", data).status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_sign_up_without_csrf_token_is_refused(client):
    response = client.post("/daftar", data={"name": "Maria", "email": "maria@example.org",
                                            "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 400
    assert _users("maria@example.org") == 0


def test_sign_up_then_sign_out_and_in_again(client):
    assert _sign_up(client).status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert client.post("/keluar", data={"csrf_token": csrf_token(home)}).status_code == 303
    assert not _signed_in(client)
    assert client.get("/akun").status_code == 302
    assert _sign_in(client, "maria@example.org", "wrong-password-123").status_code == 422
    assert _sign_in(client, "MARIA@example.org", PASSWORD).status_code == 303
    assert client.get("/akun").status_code == 200


def test_sign_in_and_sign_up_pages_link_to_each_other(client):
    sign_in_page = client.get("/masuk?next=/desa").get_data(as_text=True)
    assert "/daftar?next=/desa" in sign_in_page or "/daftar?next=%2Fdesa" in sign_in_page
    assert "/lupa-sandi" in sign_in_page
    sign_up_page = client.get("/daftar").get_data(as_text=True)
    assert 'href="/masuk"' in sign_up_page


def test_signed_in_visitor_is_sent_from_sign_up_to_the_account(client):
    sign_in(client, make_user())
    response = client.get("/daftar")
    assert response.status_code == 302 and urlparse(response.headers["Location"]).path == "/akun"


# --- password reset ------------------------------------------------------------------------------

def test_reset_request_answers_the_same_for_unknown_and_known_addresses(app, smtp):
    user = make_user(email="ina@example.org")
    unknown_client, known_client = app.test_client(), app.test_client()

    unknown = _request_reset(unknown_client, "nobody@example.org")
    assert smtp.messages == []
    known = _request_reset(known_client, "INA@example.org")

    assert unknown.status_code == known.status_code == 303
    assert unknown.headers["Location"] == known.headers["Location"]
    pages = [CSRF_VALUES.sub("", c.get(r.headers["Location"]).get_data(as_text=True))
             for c, r in ((unknown_client, unknown), (known_client, known))]
    assert pages[0] == pages[1]
    assert 'class="flash' in pages[0]

    [mail] = smtp.messages
    assert mail["to"] == ["ina@example.org"]
    assert "kata sandi" in mail["subject"].lower() and "Halo" in mail["body"]
    db.session.expire_all()
    [reset] = db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == user.id)).all()
    token = _reset_link(smtp).rpartition("/")[2]
    assert reset.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in reset.token_hash
    expires_at = _utc(reset.expires_at)
    assert timedelta(minutes=55) < expires_at - now_utc() <= timedelta(minutes=60)


def test_reset_lifetime_comes_from_config(app, client, smtp):
    app.config["PASSWORD_RESET_MINUTES"] = 5
    user = make_user()
    _request_reset(client, user.email)
    db.session.expire_all()
    reset = db.session.scalars(select(PasswordReset)).one()
    expires_at = _utc(reset.expires_at)
    assert timedelta(minutes=4) < expires_at - now_utc() <= timedelta(minutes=5)
    assert "5 menit" in smtp.messages[0]["body"]


def test_suspended_account_gets_no_reset_mail(client, smtp):
    user = make_user(email="ina@example.org")
    user.active = False
    db.session.commit()
    assert _request_reset(client, "ina@example.org").status_code == 303
    assert smtp.messages == []
    assert _open_resets(user.id) == 0


def test_reset_request_with_an_invalid_address_shows_the_form_again(client, smtp):
    assert _request_reset(client, "not-an-email").status_code == 422
    assert smtp.messages == []


def test_reset_link_works_once_and_changes_the_password(app, client, smtp):
    user = make_user(email="ina@example.org")
    _request_reset(client, "ina@example.org")
    link = _reset_link(smtp)

    page = client.get(link)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    response = _choose_password(client, link)
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).path == "/masuk"
    assert _open_resets(user.id) == 0

    assert client.get(link).status_code == 410
    again = client.post(link, data={"csrf_token": csrf_token(client.get("/masuk").get_data(as_text=True)),
                                    "password": "yet-another-password", "confirm": "yet-another-password"})
    assert again.status_code == 410

    other = app.test_client()
    assert _sign_in(other, "ina@example.org", PASSWORD).status_code == 422
    assert _sign_in(other, "ina@example.org", NEW_PASSWORD).status_code == 303


def test_expired_reset_link_is_refused(client, smtp):
    user = make_user(email="ina@example.org")
    _request_reset(client, "ina@example.org")
    link = _reset_link(smtp)
    page = client.get(link)
    reset = db.session.scalars(select(PasswordReset)).one()
    reset.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()

    assert client.get(link).status_code == 410
    response = client.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                       "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 410
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)


def test_unknown_reset_token_is_refused(client):
    response = client.get("/reset-sandi/not-a-real-token")
    assert response.status_code == 410
    assert "/lupa-sandi" in response.get_data(as_text=True)


def test_using_one_reset_link_closes_the_others(client, smtp):
    user = make_user(email="ina@example.org")
    _request_reset(client, "ina@example.org")
    _request_reset(client, "ina@example.org")
    first, second = _reset_link(smtp, 0), _reset_link(smtp, 1)
    assert first != second and _open_resets(user.id) == 2

    assert _choose_password(client, second).status_code == 303
    assert _open_resets(user.id) == 0
    assert client.get(first).status_code == 410


@pytest.mark.parametrize("password, confirm", [("short-pass", "short-pass"),
                                               (NEW_PASSWORD, "other-password-99")])
def test_reset_form_refuses_a_bad_password_and_keeps_the_link_open(client, smtp, password, confirm):
    user = make_user(email="ina@example.org")
    _request_reset(client, "ina@example.org")
    link = _reset_link(smtp)
    assert _choose_password(client, link, password, confirm).status_code == 422
    assert _open_resets(user.id) == 1
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)


def test_reset_without_csrf_token_is_refused(client, smtp):
    user = make_user(email="ina@example.org")
    _request_reset(client, "ina@example.org")
    link = _reset_link(smtp)
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400
    assert _open_resets(user.id) == 1


# --- saved addresses -----------------------------------------------------------------------------

ADDRESS = {"name": "Maria Ndun", "phone": "0812-3456-7890", "province": "Nusa Tenggara Timur",
           "regency": "53.71", "district": "Oebobo", "village_ward": "Oebufu",
           "postal_code": "85111", "street": "Jl. Frans Seda No. 10, RT 05/RW 02"}


def _addresses(user_id):
    db.session.expire_all()
    return db.session.scalars(select(Address).where(Address.user_id == user_id)).all()


def test_add_an_address_stores_the_phone_as_e164(client):
    user = make_user()
    sign_in(client, user)
    response = _post_form(client, "/akun/alamat", ADDRESS)
    assert response.status_code == 303
    [address] = _addresses(user.id)
    assert address.phone == "+6281234567890"
    assert (address.name, address.regency, address.postal_code) == ("Maria Ndun", "Kota Kupang", "85111")
    page = client.get("/akun/alamat").get_data(as_text=True)
    assert "Jl. Frans Seda No. 10" in page and "+62 812-3456-7890" in page


@pytest.mark.parametrize("field, value", [("postal_code", "8511"), ("phone", "12345"),
                                          ("province", "Atlantis"), ("street", "")])
def test_invalid_address_is_refused_and_nothing_stored(client, field, value):
    user = make_user()
    sign_in(client, user)
    response = _post_form(client, "/akun/alamat", {**ADDRESS, field: value})
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert _addresses(user.id) == []


def test_delete_own_address(client):
    user = make_user()
    sign_in(client, user)
    _post_form(client, "/akun/alamat", ADDRESS)
    [address] = _addresses(user.id)
    response = _post_form(client, f"/akun/alamat/{address.id}/hapus", {}, page_path="/akun/alamat")
    assert response.status_code == 303
    assert _addresses(user.id) == []


def test_another_users_address_is_not_found_and_not_deleted(app, client):
    owner, intruder = make_user(), make_user()
    owner_client = sign_in(app.test_client(), owner)
    _post_form(owner_client, "/akun/alamat", ADDRESS)
    [address] = _addresses(owner.id)

    sign_in(client, intruder)
    response = _post_form(client, f"/akun/alamat/{address.id}/hapus", {}, page_path="/akun/alamat")
    assert response.status_code == 404
    assert "Jl. Frans Seda" not in client.get("/akun/alamat").get_data(as_text=True)
    assert len(_addresses(owner.id)) == 1
    missing = _post_form(client, "/akun/alamat/999999/hapus", {}, page_path="/akun/alamat")
    assert missing.status_code == 404


def test_delete_needs_post_with_csrf(client):
    user = make_user()
    sign_in(client, user)
    _post_form(client, "/akun/alamat", ADDRESS)
    [address] = _addresses(user.id)
    assert client.get(f"/akun/alamat/{address.id}/hapus").status_code == 405
    assert client.post(f"/akun/alamat/{address.id}/hapus").status_code == 400
    assert len(_addresses(user.id)) == 1


# --- order history -------------------------------------------------------------------------------

def _order(user, number, *, created_at, status="awaiting_payment", total_idr=125000):
    order = Order(
        number=number, idempotency_key=f"key-{number}", user_id=user.id if user else None,
        access_token_hash=hashlib.sha256(number.encode()).hexdigest(), name="Pembeli",
        email="pembeli@example.org", phone="+6281234567890", province="Nusa Tenggara Timur",
        regency="Kota Kupang", district="Oebobo", village_ward="Oebufu", postal_code="85111",
        street="Jl. Uji 1", payment_method="bank_transfer", status=status,
        subtotal_idr=total_idr - 25000, shipping_idr=25000, total_idr=total_idr,
        created_at=created_at)
    db.session.add(order)
    db.session.commit()
    return order


def test_order_history_shows_only_own_orders_newest_first(client):
    buyer, other = make_user(), make_user()
    day = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)
    _order(buyer, "NTT-260302-OLD1", created_at=day, status="paid", total_idr=125000)
    _order(buyer, "NTT-260305-NEW2", created_at=day + timedelta(days=3), total_idr=310000)
    _order(other, "NTT-260303-OTH3", created_at=day + timedelta(days=1))
    _order(None, "NTT-260304-GST4", created_at=day + timedelta(days=2))

    sign_in(client, buyer)
    response = client.get("/akun/pesanan")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "NTT-260303-OTH3" not in page and "NTT-260304-GST4" not in page
    assert page.index("NTT-260305-NEW2") < page.index("NTT-260302-OLD1")
    assert 'href="/pesanan/NTT-260305-NEW2"' in page and 'href="/pesanan/NTT-260302-OLD1"' in page
    assert "Rp 125.000" in page and "Rp 310.000" in page
    assert "2 Mar 2026 12.00 WITA" in page or "2 Mar 2026 12:00 WITA" in page


def test_order_history_empty(client):
    sign_in(client, make_user())
    response = client.get("/akun/pesanan")
    assert response.status_code == 200
    assert "/pesanan/" not in response.get_data(as_text=True).replace("/akun/pesanan", "")


# --- anonymous visitors --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/akun", "/akun/pesanan", "/akun/alamat"])
def test_anonymous_visitor_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    assert location.path == "/masuk" and path in location.query.replace("%2F", "/")


def test_anonymous_cannot_add_or_delete_addresses(client):
    user = make_user()
    address = Address(user_id=user.id, **{**ADDRESS, "phone": "+6281234567890"})
    db.session.add(address)
    db.session.commit()
    token = csrf_token(client.get("/masuk").get_data(as_text=True))
    response = client.post(f"/akun/alamat/{address.id}/hapus", data={"csrf_token": token})
    assert response.status_code == 302 and urlparse(response.headers["Location"]).path == "/masuk"
    response = client.post("/akun/alamat", data={"csrf_token": token, **ADDRESS})
    assert response.status_code == 302
    assert len(_addresses(user.id)) == 1
