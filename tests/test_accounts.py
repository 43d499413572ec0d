"""Sign-in, sign-out, roles and membership."""
import pytest
from sqlalchemy.exc import IntegrityError

from storefront import create_app
from storefront.accounts.models import User
from storefront.accounts.services import AccountError, create_user
from storefront.config import ConfigError
from storefront.extensions import db

from .conftest import PRODUCTION_SETTINGS, csrf_token
from .factories import make_user, make_village

PASSWORD = "a-long-test-password"


def _sign_in(client, email, password, next_url=None):
    page = client.get("/masuk")
    url = "/masuk" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                  "email": email, "password": password})


def test_sign_in_and_out(client):
    user = make_user(email="ina@example.org")
    response = _sign_in(client, "INA@example.org ", PASSWORD, next_url="/desa")
    assert response.status_code == 303 and response.headers["Location"].endswith("/desa")
    home = client.get("/").get_data(as_text=True)
    assert "Keluar" in home or "Sign out" in home
    out = client.post("/keluar", data={"csrf_token": csrf_token(home)})
    assert out.status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert "/keluar" not in home
    assert user.password_hash != PASSWORD and PASSWORD not in user.password_hash


@pytest.mark.parametrize("role, lands_on", [("customer", "/"), ("village_member", "/portal/"),
                                             ("verifier", "/kantor/"), ("admin", "/kantor/")])
def test_each_person_lands_in_their_own_area_after_signing_in(client, role, lands_on):
    user = make_user(role, village=make_village() if role == "village_member" else None)
    response = _sign_in(client, user.email, PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == lands_on
    assert _sign_in(client, user.email, PASSWORD, next_url="/desa").headers["Location"] == "/desa"


@pytest.mark.parametrize("email, password", [
    ("ina@example.org", "wrong-password-123"), ("nobody@example.org", PASSWORD), ("", ""),
    ("not-an-email", PASSWORD), ("x" * 300 + "@example.org", PASSWORD),
])
def test_bad_sign_in_is_refused_with_a_message(client, email, password):
    make_user(email="ina@example.org")
    response = _sign_in(client, email, password)
    assert response.status_code == 422
    assert "/keluar" not in client.get("/").get_data(as_text=True)


def test_suspended_account_cannot_sign_in(client):
    user = make_user(email="ina@example.org")
    user.active = False
    db.session.commit()
    assert _sign_in(client, "ina@example.org", PASSWORD).status_code == 422


def test_sign_in_without_csrf_token_is_refused(client):
    make_user(email="ina@example.org")
    response = client.post("/masuk", data={"email": "ina@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "reload" in response.get_data(as_text=True) or "muat ulang" in response.get_data(as_text=True)
    assert "/keluar" not in client.get("/").get_data(as_text=True)


def test_sign_out_needs_post_with_csrf(client):
    make_user(email="ina@example.org")
    _sign_in(client, "ina@example.org", PASSWORD)
    assert client.get("/keluar").status_code == 405
    assert client.post("/keluar").status_code == 400
    assert "/keluar" in client.get("/").get_data(as_text=True)


def test_next_parameter_cannot_leave_the_site(client):
    make_user(email="ina@example.org")
    response = _sign_in(client, "ina@example.org", PASSWORD, next_url="https://evil.example/")
    assert response.headers["Location"] in ("/", "http://shop.test/")


def test_roles_and_membership_rules(app):
    village = make_village()
    member = create_user(email="anggota@desa.example.id", name="Anggota", password=PASSWORD,
                         role="village_member", village_id=village.id)
    assert member.village_id == village.id
    with pytest.raises(AccountError):
        create_user(email="a@example.org", name="A", password=PASSWORD, role="village_member")
    with pytest.raises(AccountError):
        create_user(email="b@example.org", name="B", password=PASSWORD, role="verifier",
                    village_id=village.id)
    with pytest.raises(AccountError):
        create_user(email="c@example.org", name="C", password="short", role="customer")
    with pytest.raises(AccountError):
        create_user(email="ANGGOTA@desa.example.id", name="Dup", password=PASSWORD)
    db.session.rollback()


def test_database_refuses_a_member_without_village(app):
    user = User(email="x@example.org", name="X", role="village_member", password_hash="x")
    db.session.add(user)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_production_hashes_passwords_with_scrypt_and_refuses_a_cheaper_method(database_url, tmp_path):
    settings = {**PRODUCTION_SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path)}
    production = create_app(settings)
    with production.app_context():
        user = User(email="kuat@example.org", name="Kuat", role="customer")
        user.set_password("a-long-test-password")
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password("a-long-test-password")
    with pytest.raises(ConfigError, match="PASSWORD_HASH_METHOD"):
        create_app({**settings, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
