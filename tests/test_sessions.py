"""Sessions: a fresh one at sign-in, old cookies refused after sign-out, password change and
reset, idle and absolute timeouts, cookie flags in production (issue 8)."""
from datetime import datetime, timedelta, timezone

import pytest

from storefront import clock, create_app
from storefront.accounts.models import User
from storefront.accounts.services import request_password_reset
from storefront.extensions import db

from .conftest import PRODUCTION_SETTINGS, csrf_token
from .factories import make_user, sign_in

PASSWORD = "a-long-test-password"
NEW_PASSWORD = "kopi bajawa di pagi hari"
PROTECTED = "/akun"


def cookie(client, name="session"):
    found = client.get_cookie(name, domain="shop.test")
    return found.value if found else None


def replay(app, **cookies):
    """A fresh client, as an attacker's, holding only the given (captured) cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain="shop.test")
    return other


def is_signed_in(client):
    response = client.get(PROTECTED)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]
    return False


def decode(app, value):
    """The content of a session cookie (signed, not encrypted: the server can read it back)."""
    return app.session_interface.get_signing_serializer(app).loads(value)


def sign_out(client):
    home = client.get("/").get_data(as_text=True)
    assert client.post("/keluar", data={"csrf_token": csrf_token(home)}).status_code == 303


# --- revocation ----------------------------------------------------------------------------------

def test_a_replayed_session_cookie_is_refused_after_sign_out(app):
    user = make_user()
    client = sign_in(app.test_client(), user)
    stolen = cookie(client)
    assert is_signed_in(replay(app, session=stolen)), "the captured cookie works before sign-out"

    sign_out(client)

    assert not is_signed_in(client)
    assert not is_signed_in(replay(app, session=stolen))


def test_the_remember_me_cookie_dies_at_sign_out(app):
    user = make_user()
    client = app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    client.post("/masuk", data={"csrf_token": csrf_token(page), "email": user.email,
                                "password": PASSWORD, "remember": "y"})
    remembered = cookie(client, "remember_token")
    assert remembered
    assert is_signed_in(replay(app, remember_token=remembered)), "remember-me signs in alone"

    sign_out(client)

    assert cookie(client, "remember_token") is None, "the browser is told to drop it"
    assert not is_signed_in(replay(app, remember_token=remembered))


def test_a_password_change_ends_every_other_session_but_not_this_one(app):
    user = make_user()
    phone = sign_in(app.test_client(), user)
    laptop = sign_in(app.test_client(), user)
    old_laptop_cookie = cookie(laptop)

    page = laptop.get("/akun/sandi").get_data(as_text=True)
    response = laptop.post("/akun/sandi", data={
        "csrf_token": csrf_token(page), "current": PASSWORD,
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303

    assert is_signed_in(laptop), "the person who changed it stays signed in"
    assert cookie(laptop) != old_laptop_cookie
    assert not is_signed_in(phone)
    assert not is_signed_in(replay(app, session=old_laptop_cookie))
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(NEW_PASSWORD)


def test_the_change_password_page_wants_the_current_password(app):
    user = make_user()
    client = sign_in(app.test_client(), user)
    token_before = user.session_token
    page = client.get("/akun/sandi").get_data(as_text=True)
    response = client.post("/akun/sandi", data={
        "csrf_token": csrf_token(page), "current": "not-the-password-at-all",
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422
    assert "Kata sandi Anda yang sekarang tidak benar." in response.get_data(as_text=True)
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh.check_password(PASSWORD) and fresh.session_token == token_before
    assert app.test_client().get("/akun/sandi").status_code == 302  # anonymous: sign in first


def test_completing_a_password_reset_ends_all_sessions(app):
    user = make_user()
    victim_session = sign_in(app.test_client(), user)
    stolen = cookie(victim_session)
    _, token = request_password_reset(user.email, minutes=60)
    db.session.commit()

    resetter = app.test_client()
    page = resetter.get(f"/reset-sandi/{token}").get_data(as_text=True)
    response = resetter.post(f"/reset-sandi/{token}", data={
        "csrf_token": csrf_token(page), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303

    assert not is_signed_in(victim_session)
    assert not is_signed_in(replay(app, session=stolen))
    # Single use: the link is spent.
    assert resetter.get(f"/reset-sandi/{token}").status_code == 410


def test_a_reset_link_expires(app, monkeypatch):
    user = make_user()
    _, token = request_password_reset(user.email, minutes=60)
    db.session.commit()
    later = clock.now_utc() + timedelta(minutes=61)
    monkeypatch.setattr(clock, "now_utc", lambda: later)
    import storefront.accounts.services as services
    monkeypatch.setattr(services, "now_utc", lambda: later)
    client = app.test_client()
    client.set_cookie("lang", "en", domain="shop.test")
    response = client.get(f"/reset-sandi/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_cookies_of_an_old_style_bare_user_id_are_refused(app):
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)  # what the shop stored before session tokens
        sess["_fresh"] = True
    assert not is_signed_in(client)


def test_a_suspended_account_loses_its_session(app):
    user = make_user()
    client = sign_in(app.test_client(), user)
    user.active = False
    db.session.commit()
    assert not is_signed_in(client)


# --- fixation ------------------------------------------------------------------------------------

def test_sign_in_starts_a_fresh_session(app):
    user = make_user()
    client = app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    with client.session_transaction() as sess:  # what a fixation attacker could have planted
        sess["_sid"] = "planted-by-attacker"
        sess["planted"] = "x"
        sess["order_tokens"] = {"NTT-1": "guest-token"}
        before = dict(sess)
    anonymous_cookie = cookie(client)

    response = client.post("/masuk", data={"csrf_token": csrf_token(page), "email": user.email,
                                           "password": PASSWORD})
    assert response.status_code == 303
    after = decode(app, cookie(client))
    assert cookie(client) != anonymous_cookie
    assert after["_sid"] not in (None, "planted-by-attacker")
    assert "planted" not in after
    assert after.get("csrf_token") != before.get("csrf_token")
    assert after["order_tokens"] == {"NTT-1": "guest-token"}, "a guest's order links survive"

    sign_out(client)
    sign_in(client, user)
    assert decode(app, cookie(client))["_sid"] != after["_sid"], "every sign-in: a new id"


# --- timeouts ------------------------------------------------------------------------------------

@pytest.fixture
def frozen(monkeypatch):
    """Move the shop's clock by hand: ``frozen.advance(minutes=...)``."""

    class Clock:
        now = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)

        def advance(self, **delta):
            self.now += timedelta(**delta)

    fake = Clock()
    monkeypatch.setattr(clock, "now_utc", lambda: fake.now)
    return fake


def _flashes(client):
    return client.get("/masuk").get_data(as_text=True)


@pytest.mark.parametrize("role, idle_minutes", [("customer", 120), ("verifier", 30),
                                                ("admin", 30)])
def test_an_idle_session_ends(app, frozen, role, idle_minutes):
    user = make_user(role=role)
    client = sign_in(app.test_client(), user)
    stolen = cookie(client)
    frozen.advance(minutes=idle_minutes - 2)
    assert is_signed_in(client), "activity within the idle limit keeps the session"
    frozen.advance(minutes=idle_minutes - 2)
    assert is_signed_in(client), "the idle clock restarts at every request"
    frozen.advance(minutes=idle_minutes + 1)
    assert not is_signed_in(client)
    assert f"Anda dikeluarkan setelah {idle_minutes} menit tanpa aktivitas." in _flashes(client)
    assert not is_signed_in(replay(app, session=stolen))


def test_a_village_member_idles_out_after_thirty_minutes(app, frozen):
    from .factories import make_village

    member = make_user(role="village_member", village=make_village())
    client = sign_in(app.test_client(), member)
    frozen.advance(minutes=31)
    assert not is_signed_in(client)


def test_a_busy_session_still_ends_after_the_absolute_limit(app, frozen):
    user = make_user()
    client = sign_in(app.test_client(), user)
    for _ in range(7):  # busy every 100 minutes: never idle, 11 h 40 min in all
        frozen.advance(minutes=100)
        assert is_signed_in(client)
    frozen.advance(minutes=21)
    assert not is_signed_in(client)
    assert "Anda dikeluarkan 12 jam setelah masuk." in _flashes(client)
    # Signing in again starts a new 12 hours.
    sign_in(client, user)
    assert is_signed_in(client)


def test_timeouts_are_configurable(app, frozen):
    app.config.update(SESSION_IDLE_MINUTES_CUSTOMER=5, SESSION_ABSOLUTE_HOURS=1)
    user = make_user()
    client = sign_in(app.test_client(), user)
    frozen.advance(minutes=6)
    assert not is_signed_in(client)


def test_the_remember_me_cookie_starts_a_new_timed_session(app, frozen):
    user = make_user()
    client = app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    client.post("/masuk", data={"csrf_token": csrf_token(page), "email": user.email,
                                "password": PASSWORD, "remember": "y"})
    remembered = cookie(client, "remember_token")
    browser_restarted = replay(app, remember_token=remembered)
    assert is_signed_in(browser_restarted)
    assert decode(app, cookie(browser_restarted))["_auth_at"] == int(frozen.now.timestamp())
    frozen.advance(minutes=121)
    assert not is_signed_in(browser_restarted), "the idle limit applies to it too"
    assert cookie(browser_restarted, "remember_token") is None, "and the browser drops it"
    # A copy of the remember-me cookie works at most until the absolute limit after sign-in.
    assert is_signed_in(replay(app, remember_token=remembered))
    frozen.advance(hours=10)
    assert not is_signed_in(replay(app, remember_token=remembered))


# --- cookie flags --------------------------------------------------------------------------------

def test_production_cookies_are_secure_httponly_and_lax(database_url, tmp_path):
    app = create_app({
        "TESTING": True, **PRODUCTION_SETTINGS,
        "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path / "media"),
        "SCAN_ROOT": str(tmp_path / "scans"), "SERVER_NAME": "shop.test", "MAIL_SERVER": None,
        "RATELIMIT_ENABLED": False})
    with app.app_context():
        try:
            user = make_user()
            client = app.test_client()
            page = client.get("/masuk", base_url="https://shop.test").get_data(as_text=True)
            response = client.post("/masuk", base_url="https://shop.test",
                                   headers={"Referer": "https://shop.test/masuk"}, data={
                "csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD,
                "remember": "y"})
            assert response.status_code == 303
            set_cookies = {value.split("=", 1)[0]: value
                           for value in response.headers.getlist("Set-Cookie")}
            for name in ("session", "remember_token", "device"):
                flags = [part.strip() for part in set_cookies[name].split(";")]
                assert "Secure" in flags, name
                assert "HttpOnly" in flags, name
                assert "SameSite=Lax" in flags, name
            assert "Path=/masuk" in set_cookies["device"]
        finally:
            from .conftest import _empty_tables

            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def test_development_cookies_are_httponly_and_lax_too(app):
    user = make_user()
    client = app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    response = client.post("/masuk", data={"csrf_token": csrf_token(page), "email": user.email,
                                           "password": PASSWORD})
    header = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_HTTPONLY"]


def test_a_new_secret_key_keeps_people_signed_in_while_the_old_one_is_a_fallback(app):
    """Rotating SECRET_KEY (docs/operations.md): with the old key in SECRET_KEY_FALLBACKS a
    session signed before goes on and is signed anew; once the old key is dropped it ends."""
    client = sign_in(app.test_client(), make_user())
    before = cookie(client)
    old_key = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="R0tated-" + old_key[::-1], SECRET_KEY_FALLBACKS=[old_key])
    assert is_signed_in(client)
    after = cookie(client)
    assert after != before and decode(app, after)  # signed again, with the new key

    app.config["SECRET_KEY_FALLBACKS"] = []
    assert is_signed_in(client), "the cookie signed with the new key needs no fallback"
    assert not is_signed_in(replay(app, session=before)), "the old key alone opens nothing any more"
