"""Buyer accounts: sign up confirmed by an e-mailed link, sign in and out, password reset by
e-mailed link, order history and saved addresses. Mail leaves through the outbox
(``deliver_due``) to a real SMTP server on loopback."""
import hashlib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import Address, PasswordReset, SignUpConfirmation, User
from storefront.clock import now_utc
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.outbox.models import OutboxMessage
from storefront.outbox.worker import deliver_due

from . import test_concurrency
from .conftest import csrf_token
from .factories import make_user, sign_in
from .test_concurrency import CSRF, Buyer, _run_all

PASSWORD = "a-long-test-password"
NEW_PASSWORD = "a-brand-new-password-42"
RESET_LINK = re.compile(r"http://shop\.test(/reset-sandi/[A-Za-z0-9_\-]+)")
CONFIRM_LINK = re.compile(r"http://shop\.test(/daftar/konfirmasi/[A-Za-z0-9_\-]+(?:\?next=\S+)?)")
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
    """Ask for a reset link; the outbox then delivers what the request queued."""
    response = _post_form(client, "/lupa-sandi", {"email": email})
    deliver_due()
    return response


def _confirm_link(mailbox, email="maria@example.org", index=-1):
    """The activation link in the last (or ``index``-th) mail to ``email``."""
    return CONFIRM_LINK.search(mailbox.to(email)[index]["body"]).group(1)


def _activate(client, link):
    """Open the mailed link and press its one button, as the owner of the address does."""
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    assert page.headers["Referrer-Policy"] == "no-referrer"
    return client.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def _sign_up_and_activate(client, mailbox, email="maria@example.org", **kwargs):
    """Sign up, let the outbox mail the link, open it: the new way to an account."""
    assert _sign_up(client, email=email, **kwargs).status_code == 303
    deliver_due()
    return _activate(client, _confirm_link(mailbox, email.strip().lower()))


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

def test_sign_up_opens_an_account_that_works_once_the_mailed_link_is_opened(client, smtp):
    response = _sign_up(client, email="Maria@Example.org ", next_url="/desa")
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).path == "/daftar/terkirim"
    assert "Periksa email Anda" in client.get("/daftar/terkirim").get_data(as_text=True)
    db.session.expire_all()
    user = db.session.scalars(select(User).where(User.email == "maria@example.org")).one()
    assert user.role == "customer" and user.active and not user.is_confirmed
    assert not _signed_in(client)
    assert _sign_in(client, "maria@example.org", PASSWORD).status_code == 422, "not before the link"

    deliver_due()
    [mail] = smtp.to("maria@example.org")
    assert mail["subject"] == "Aktifkan akun Produk Desa NTT Anda"
    assert "berlaku 48 jam" in mail["body"] and "Maria Ndun" not in mail["body"]
    link = _confirm_link(smtp)
    [confirmation] = db.session.scalars(select(SignUpConfirmation)).all()
    token = urlparse(link).path.rpartition("/")[2]
    assert confirmation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in confirmation.token_hash
    assert timedelta(hours=47) < _utc(confirmation.expires_at) - now_utc() <= timedelta(hours=48)

    activated = _activate(client, link)
    assert activated.status_code == 303
    assert urlparse(activated.headers["Location"]).path == "/desa"
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.is_confirmed and user.name == "Maria Ndun"
    assert user.check_password(PASSWORD) and PASSWORD not in user.password_hash
    assert _signed_in(client)
    account = client.get("/akun")
    assert account.status_code == 200
    body = account.get_data(as_text=True)
    assert "Maria Ndun" in body and "maria@example.org" in body
    assert "/akun/pesanan" in body and "/akun/alamat" in body

    assert client.get(link).status_code == 410, "the link works once"


@pytest.mark.parametrize("next_url", [None, "https://evil.example/", "//evil.example/x"])
def test_the_activated_account_goes_to_the_account_page_unless_next_is_on_this_site(
        client, smtp, next_url):
    response = _sign_up_and_activate(client, smtp, next_url=next_url)
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).path == "/akun"
    assert urlparse(response.headers["Location"]).netloc in ("", "shop.test")
    assert "evil" not in smtp.messages[0]["body"]


def _answer(client, response):
    """What a visitor is shown after a sign-up: status, where it leads, the page there."""
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return response.status_code, response.headers["Location"], CSRF_VALUES.sub("", page)


def test_sign_up_answers_the_same_for_a_taken_address_and_tells_its_owner(app, smtp):
    owner = make_user(email="ina@example.org")
    hash_before = owner.password_hash
    taken, fresh = app.test_client(), app.test_client()
    taken_answer = _answer(taken, _sign_up(taken, name="Orang Asing", email="INA@example.ORG"))
    fresh_answer = _answer(fresh, _sign_up(fresh, name="Orang Asing", email="baru@example.org"))
    assert taken_answer == fresh_answer
    assert taken_answer[0] == 303
    assert "ina@example.org" not in taken_answer[2]
    assert _users("ina@example.org") == 1
    db.session.expire_all()
    assert db.session.get(User, owner.id).password_hash == hash_before, "the account is unchanged"
    assert not _signed_in(taken)

    deliver_due()
    [notice] = smtp.to("ina@example.org")
    assert notice["subject"] == "Percobaan mendaftar di Produk Desa NTT"
    assert "http://shop.test/masuk" in notice["body"]
    assert "http://shop.test/lupa-sandi" in notice["body"]
    assert "/daftar/konfirmasi/" not in notice["body"] and "Orang Asing" not in notice["body"]
    [link_mail] = smtp.to("baru@example.org")
    assert "/daftar/konfirmasi/" in link_mail["body"]


def test_a_second_sign_up_for_an_unconfirmed_address_sends_a_new_link(client, smtp):
    assert _sign_up(client).status_code == 303
    assert _sign_up(client, name="Maria N.", password=NEW_PASSWORD).status_code == 303
    deliver_due()
    first, second = _confirm_link(smtp, index=0), _confirm_link(smtp, index=1)
    assert first != second and _users("maria@example.org") == 1
    # Each link activates the account with the password typed on its own sign-up.
    assert _activate(client, second).status_code == 303
    db.session.expire_all()
    user = db.session.scalars(select(User).where(User.email == "maria@example.org")).one()
    assert user.name == "Maria N." and user.check_password(NEW_PASSWORD)
    assert client.get(first).status_code == 410, "activation spends the other links"


def test_a_stranger_signing_up_first_cannot_choose_the_owners_password(app, smtp):
    stranger, owner = app.test_client(), app.test_client()
    assert _sign_up(stranger, name="Orang Asing", password="stranger-chose-this").status_code == 303
    assert _sign_up(owner, password=PASSWORD).status_code == 303
    deliver_due()
    # The owner opens the link of their own sign-up (the stranger's went to the owner too).
    assert _activate(owner, _confirm_link(smtp, index=1)).status_code == 303
    assert _sign_in(stranger, "maria@example.org", "stranger-chose-this").status_code == 422
    assert _sign_in(app.test_client(), "maria@example.org", PASSWORD).status_code == 303


def test_an_expired_or_unknown_confirmation_link_is_refused(client, smtp):
    assert _sign_up(client).status_code == 303
    deliver_due()
    link = _confirm_link(smtp)
    page = client.get(link)
    confirmation = db.session.scalars(select(SignUpConfirmation)).one()
    confirmation.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(link).status_code == 410
    response = client.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 410
    assert not _signed_in(client)
    db.session.expire_all()
    assert not db.session.scalars(select(User)).one().is_confirmed
    unknown = client.get("/daftar/konfirmasi/not-a-real-token")
    assert unknown.status_code == 410 and "/daftar" in unknown.get_data(as_text=True)


def test_the_confirmation_link_needs_the_button_and_its_csrf_token(client, smtp):
    assert _sign_up(client).status_code == 303
    deliver_due()
    link = _confirm_link(smtp)
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 400
    db.session.expire_all()
    assert not db.session.scalars(select(User)).one().is_confirmed
    assert not _signed_in(client)


def test_a_password_reset_confirms_an_unconfirmed_account(app, client, smtp):
    assert _sign_up(client).status_code == 303
    assert _request_reset(client, "maria@example.org").status_code == 303
    response = _choose_password(client, _reset_link(smtp))
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.scalars(select(User)).one()
    assert user.is_confirmed
    assert _sign_in(app.test_client(), "maria@example.org", NEW_PASSWORD).status_code == 303
    assert client.get(_confirm_link(smtp, index=0)).status_code == 410, "the sign-up link is spent"


def test_a_suspended_account_gets_no_mail_from_a_sign_up(client, smtp):
    user = make_user(email="ina@example.org")
    user.active = False
    db.session.commit()
    assert _sign_up(client, email="ina@example.org").status_code == 303
    deliver_due()
    assert smtp.messages == []


def test_an_invitation_takes_over_an_unconfirmed_sign_up(app, client, smtp):
    from storefront.accounts.services import accept_invitation, invite_member

    from .factories import make_village

    assert _sign_up(client, email="anggota@desa.example.id").status_code == 303
    admin = make_user(role="admin")
    _, token = invite_member(village_id=make_village().id, email="anggota@desa.example.id",
                             name="Anggota", invited_by=admin, days=7)
    member = accept_invitation(token, name="Anggota", password=NEW_PASSWORD)
    db.session.commit()
    assert member.role == "village_member" and member.is_confirmed
    assert _users("anggota@desa.example.id") == 1
    assert db.session.scalar(select(func.count()).select_from(SignUpConfirmation)) == 0


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


def test_the_office_sees_an_unconfirmed_account_and_cannot_give_it_a_role(app, client):
    assert _sign_up(client, email="calon@example.org").status_code == 303
    admin = sign_in(app.test_client(), make_user(role="admin"))
    page = admin.get("/kantor/pengguna").get_data(as_text=True)
    assert "calon@example.org" in page and "belum dikonfirmasi" in page
    user = db.session.scalars(select(User).where(User.email == "calon@example.org")).one()
    token = csrf_token(admin.get("/akun/sandi").get_data(as_text=True))
    response = admin.post(f"/kantor/pengguna/{user.id}/peran", data={"csrf_token": token,
                                                                    "role": "verifier"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "customer"


def test_the_migration_counts_every_existing_account_as_confirmed(database_url, tmp_path):
    """Members, verifiers, admins, ``flask user create`` and demo accounts made before the
    migration keep signing in: the migration confirms every existing row."""
    from flask_migrate import upgrade
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from storefront import create_app

    from .conftest import _private_postgres_database

    databases = None
    if database_url.startswith("postgresql"):
        databases = _private_postgres_database(database_url)
        url = next(databases)
    else:
        url = f"sqlite:///{tmp_path / 'before.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": "shop.test", "PUBLIC_URL": "http://shop.test",
                      "MEDIA_ROOT": str(tmp_path / "media"), "RATELIMIT_ENABLED": False})
    try:
        with app.app_context():
            upgrade(revision="8e03b8d86d63")  # the schema before sign-up confirmation
            with db.engine.begin() as conn:
                for email, created_at in (("anggota@desa.example.id", datetime(2026, 11, 30, 2, 0)),
                                          ("tanpa-tanggal@example.org", None)):
                    conn.execute(text(
                        "INSERT INTO users (email, name, password_hash, role, active, created_at, "
                        "session_token) VALUES (:email, 'Lama', :hash, 'customer', :active, "
                        ":created_at, :token)"),
                        {"email": email, "hash": generate_password_hash(PASSWORD), "active": True,
                         "created_at": created_at, "token": email[:16]})
            upgrade()
            db.session.remove()
            users = db.session.scalars(select(User).order_by(User.email)).all()
            assert [u.is_confirmed for u in users] == [True, True]
            assert _utc(users[0].email_confirmed_at) == datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
            assert _sign_in(app.test_client(), "anggota@desa.example.id", PASSWORD).status_code == 303
            db.session.remove()
            db.engine.dispose()
    finally:
        if databases is not None:
            next(databases, None)


def test_sign_up_then_sign_out_and_in_again(client, smtp):
    assert _sign_up_and_activate(client, smtp).status_code == 303
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


# --- many sign-ups for one address at once ---------------------------------------------------------

#: The app on a real socket (a fixture of test_concurrency.py).
live = test_concurrency.live


def test_sign_ups_for_one_new_address_at_once_open_one_account(app, live, backend):
    """Five browsers sign up with the same new address at the same moment, over real HTTP: each
    gets the same answer, one unconfirmed account is opened, and each sign-up mails its link."""
    import threading

    together = threading.Barrier(5, timeout=60)

    def sign_up(n):
        browser = Buyer(live.url, n)
        page = browser.get("/daftar")
        assert page.status_code == 200, page.status_code
        form = {"csrf_token": CSRF.search(page.text).group(1), "name": f"Maria {n}",
                "email": "maria@example.org", "password": PASSWORD, "confirm": PASSWORD}
        together.wait()
        response = browser.post("/daftar", form)
        return response.status_code, response.headers.get("Location", "")

    answers = _run_all(5, sign_up)
    assert {status for status, _ in answers} == {303}, answers
    assert {location.rpartition("/")[2] for _, location in answers} == {"terkirim"}
    db.session.rollback()
    assert _users("maria@example.org") == 1
    assert db.session.scalar(select(func.count()).select_from(SignUpConfirmation)) == 5
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.target == "maria@example.org")) == 5
    log = live.log.settled()
    assert "Traceback" not in log, log[-3000:]
