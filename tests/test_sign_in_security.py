"""Sign-in security: the password policy everywhere a password is set, and rate limits on
sign-in (per address and per account), password reset and sign-up (issue 8)."""
import socket
from types import SimpleNamespace

import limits.storage.memory
import pytest
from sqlalchemy import func, select

from storefront import create_app
from storefront.accounts.models import Invitation, PasswordReset, User
from storefront.accounts.passwords import common_passwords, password_problem
from storefront.accounts.services import invite_member, request_password_reset
from storefront.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from storefront.extensions import db
from storefront.ratelimit import limiter

from .conftest import _empty_tables, csrf_token
from .factories import make_user, make_village, sign_in

PASSWORD = "a-long-test-password"
GOOD = "kopi bajawa di pagi hari"
#: (password, what the refusal says); the e-mail local part used below is "budisantoso".
BAD = [
    ("pendek-11ch", "at least 12 characters"),
    ("1qaz2wsx3edc", "list of common passwords"),
    ("PASSWORD1234", "list of common passwords"),
    ("ProdukDesa-NTT-2026", "name of the shop"),
    ("Budi.Santoso-1990!", "your e-mail address"),
]
EMAIL = "budi.santoso@example.org"


def english(client):
    client.set_cookie("lang", "en", domain="shop.test")
    return client


# --- the policy ----------------------------------------------------------------------------------

def test_the_common_list_is_shipped_and_compared_case_insensitively():
    assert len(common_passwords()) >= 10000
    assert "123456" in common_passwords() and "qwerty123456" in common_passwords()
    assert password_problem("QWERTY123456") is not None
    assert password_problem(GOOD, email=EMAIL) is None


def test_the_demo_password_still_passes():
    for email, *_ in DEMO_ACCOUNTS:
        assert password_problem(DEMO_PASSWORD, email=email) is None


@pytest.mark.parametrize("password, reason", BAD)
def test_sign_up_refuses_weak_passwords(app, password, reason):
    client = english(app.test_client())
    page = client.get("/daftar").get_data(as_text=True)
    response = client.post("/daftar", data={"csrf_token": csrf_token(page), "name": "Budi",
                                            "email": EMAIL, "password": password,
                                            "confirm": password})
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("password, reason", BAD)
def test_password_reset_refuses_weak_passwords(app, password, reason):
    user = make_user(email=EMAIL)
    hash_before = user.password_hash
    _, token = request_password_reset(EMAIL, minutes=60)
    db.session.commit()
    client = english(app.test_client())
    page = client.get(f"/reset-sandi/{token}").get_data(as_text=True)
    response = client.post(f"/reset-sandi/{token}", data={
        "csrf_token": csrf_token(page), "password": password, "confirm": password})
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == hash_before
    assert db.session.scalars(select(PasswordReset)).one().used_at is None, "the link still works"


@pytest.mark.parametrize("password, reason", BAD)
def test_invitations_refuse_weak_passwords(app, password, reason):
    admin = make_user(role="admin")
    _, token = invite_member(village_id=make_village().id, email=EMAIL, name="Budi",
                             invited_by=admin, days=7)
    db.session.commit()
    client = english(app.test_client())
    page = client.get(f"/undangan/{token}").get_data(as_text=True)
    response = client.post(f"/undangan/{token}", data={
        "csrf_token": csrf_token(page), "name": "Budi", "password": password, "confirm": password})
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(User.email == EMAIL)) == 0
    assert db.session.scalars(select(Invitation)).one().accepted_at is None


@pytest.mark.parametrize("password, reason", BAD)
def test_password_change_refuses_weak_passwords(app, password, reason):
    user = make_user(email=EMAIL)
    hash_before, token_before = user.password_hash, user.session_token
    client = english(sign_in(app.test_client(), user))
    page = client.get("/akun/sandi").get_data(as_text=True)
    response = client.post("/akun/sandi", data={
        "csrf_token": csrf_token(page), "current": PASSWORD, "password": password,
        "confirm": password})
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert (fresh.password_hash, fresh.session_token) == (hash_before, token_before)


@pytest.mark.parametrize("password, reason", BAD)
def test_the_user_create_command_refuses_weak_passwords(runner, password, reason):
    result = runner.invoke(args=["user", "create", "--email", EMAIL, "--name", "Budi",
                                 "--password", password])
    assert result.exit_code != 0 and result.output.startswith("Error:")  # (in Indonesian)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_good_password_is_accepted_everywhere(app, runner):
    result = runner.invoke(args=["user", "create", "--email", EMAIL, "--name", "Budi",
                                 "--password", GOOD])
    assert result.exit_code == 0, result.output


# --- rate limits ---------------------------------------------------------------------------------

class FakeTime:
    """limits' memory storage reads ``time.time()`` of its own module: move it by hand."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def time(self):
        return self.now


@pytest.fixture
def limited_app(database_url, tmp_path, monkeypatch):
    """An app with the limiter on and small limits; the rest as conftest's ``app``."""
    from .conftest import FreshContextClient

    fake = FakeTime()
    monkeypatch.setattr(limits.storage.memory, "time", SimpleNamespace(time=fake.time))
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"), "SCAN_ROOT": str(tmp_path / "scans"),
        "MAIL_SERVER": None, "OFFICE_EMAIL": "", "SERVER_NAME": "shop.test", "PUBLIC_URL": "http://shop.test",
        "RATELIMIT_ENABLED": True, "REDIS_URL": None,
        "RATELIMIT_SIGN_IN_IP": "6/minute", "RATELIMIT_SIGN_IN_ACCOUNT": "3/15 minutes",
        "RATELIMIT_RESET_IP": "4/minute", "RATELIMIT_RESET_EMAIL": "2/hour",
        "RATELIMIT_SIGN_UP_IP": "2/hour",
    })
    app.test_client_class = FreshContextClient
    app.fake_time = fake
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _try_sign_in(client, email, password, ip="203.0.113.7"):
    page = client.get("/masuk").get_data(as_text=True)
    return client.post("/masuk", data={"csrf_token": csrf_token(page), "email": email,
                                       "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_failed_sign_ins_lock_the_account_for_a_while_from_any_address(limited_app):
    user = make_user()
    client = english(limited_app.test_client())
    for n in range(3):
        assert _try_sign_in(client, user.email, "wrong-password-guess", ip=f"198.51.100.{n}").status_code == 422
    # The right password from yet another address: still refused until the window passes.
    locked = _try_sign_in(client, user.email, PASSWORD, ip="198.51.100.99")
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "Too many attempts" in text and "wait a few minutes" in text
    assert "Retry-After" in locked.headers
    # Another account from the same addresses is not affected.
    other = make_user()
    assert _try_sign_in(client, other.email, PASSWORD, ip="198.51.100.0").status_code == 303

    limited_app.fake_time.now += 15 * 60 + 1
    assert _try_sign_in(client, user.email, PASSWORD, ip="198.51.100.99").status_code == 303


def test_successful_sign_ins_do_not_count_against_the_account(limited_app):
    user = make_user()
    for n in range(5):
        client = limited_app.test_client()
        assert _try_sign_in(client, user.email, PASSWORD, ip=f"192.0.2.{n}").status_code == 303


def test_sign_in_is_limited_per_address(limited_app):
    client = english(limited_app.test_client())
    for n in range(6):  # different accounts: only the address limit is in play
        assert _try_sign_in(client, f"nobody{n}@example.org", "wrong-password-guess").status_code == 422
    limited = _try_sign_in(client, "nobody9@example.org", "wrong-password-guess")
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)
    # Another address is served.
    assert _try_sign_in(client, "nobody9@example.org", "wrong-password-guess",
                        ip="203.0.113.8").status_code == 422
    limited_app.fake_time.now += 61
    assert _try_sign_in(client, "nobody9@example.org", "wrong-password-guess").status_code == 422


def test_the_limit_page_speaks_indonesian_by_default(limited_app):
    client = limited_app.test_client()
    for _ in range(6):
        _try_sign_in(client, "nobody@example.org", "wrong-password-guess")
    limited = _try_sign_in(client, "nobody@example.org", "wrong-password-guess")
    assert limited.status_code == 429
    assert '<html lang="id">' in limited.get_data(as_text=True)


def _ask_reset(client, email, ip="203.0.113.7"):
    page = client.get("/lupa-sandi").get_data(as_text=True)
    return client.post("/lupa-sandi", data={"csrf_token": csrf_token(page), "email": email},
                       environ_base={"REMOTE_ADDR": ip})


def test_password_reset_requests_are_limited_per_email_and_per_address(limited_app):
    user = make_user()
    client = limited_app.test_client()
    assert _ask_reset(client, user.email, ip="192.0.2.1").status_code == 303
    assert _ask_reset(client, user.email, ip="192.0.2.2").status_code == 303
    assert _ask_reset(client, user.email, ip="192.0.2.3").status_code == 429, "per e-mail"
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 2

    for n in range(3):  # three more from .1: four in the minute from that address
        assert _ask_reset(client, f"other{n}@example.org", ip="192.0.2.1").status_code == 303
    assert _ask_reset(client, "other9@example.org", ip="192.0.2.1").status_code == 429, "per address"

    limited_app.fake_time.now += 3600 + 1
    assert _ask_reset(client, user.email, ip="192.0.2.1").status_code == 303


def test_sign_up_is_limited_per_address(limited_app):
    def sign_up(n):
        fresh = limited_app.test_client()
        page = fresh.get("/daftar").get_data(as_text=True)
        return fresh.post("/daftar", data={"csrf_token": csrf_token(page), "name": f"Pembeli {n}",
                                           "email": f"pembeli{n}@example.org", "password": GOOD,
                                           "confirm": GOOD},
                          environ_base={"REMOTE_ADDR": "203.0.113.50"})

    assert sign_up(1).status_code == 303
    assert sign_up(2).status_code == 303
    assert sign_up(3).status_code == 429
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    limited_app.fake_time.now += 3600 + 1
    assert sign_up(3).status_code == 303


def test_wrong_current_passwords_are_limited_per_user(limited_app):
    user = make_user()
    client = sign_in(limited_app.test_client(), user)
    for _ in range(5):
        page = client.get("/akun/sandi").get_data(as_text=True)
        status = client.post("/akun/sandi", data={
            "csrf_token": csrf_token(page), "current": "wrong-current-guess",
            "password": GOOD, "confirm": GOOD}).status_code
        assert status == 422
    page = client.get("/akun/sandi").get_data(as_text=True)
    assert client.post("/akun/sandi", data={
        "csrf_token": csrf_token(page), "current": PASSWORD,
        "password": GOOD, "confirm": GOOD}).status_code == 429


def test_the_limiter_counts_in_memory_without_redis(limited_app):
    assert type(limiter.storage).__name__ == "MemoryStorage"


def _redis_reachable():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(),
                    reason="no Redis answers on 127.0.0.1:6379, so the Redis storage test is skipped")
def test_the_limiter_counts_in_redis_when_redis_url_is_set(database_url, tmp_path, backend):
    import secrets

    import redis

    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"), "SCAN_ROOT": str(tmp_path / "scans"),
        "MAIL_SERVER": None, "SERVER_NAME": "shop.test", "PUBLIC_URL": "http://shop.test", "RATELIMIT_ENABLED": True,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "RATELIMIT_SIGN_IN_IP": "2/minute"})
    server = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    with app.app_context():
        try:
            assert type(limiter.storage).__name__ == "RedisStorage"
            client = app.test_client()
            for _ in range(2):
                assert _try_sign_in(client, "nobody@example.org", "wrong-guess-1234",
                                    ip=ip).status_code == 422
            assert _try_sign_in(client, "nobody@example.org", "wrong-guess-1234",
                                ip=ip).status_code == 429
            assert server.keys(f"*{ip}*"), "the counts live in Redis"
            # A second app (another gunicorn worker) sees the same counts.
            other = create_app({**app.config})
            with other.app_context():
                assert _try_sign_in(other.test_client(), "nobody@example.org",
                                    "wrong-guess-1234", ip=ip).status_code == 429
        finally:
            for key in server.scan_iter(f"*{ip}*"):
                server.delete(key)
            for key in server.scan_iter("*sign-in-account*"):
                server.delete(key)
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
