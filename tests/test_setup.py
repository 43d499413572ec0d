"""Setting the shop up: production settings, gunicorn over real HTTP, health check, schema.

The gunicorn tests start real processes on a temporary SQLite database; they do not use the
database fixtures and so run once, not once per backend.
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from storefront import ROOT, create_app
from storefront.config import ConfigError
from storefront.extensions import db

from .factories import make_certified_village, make_product

BIN = Path(sys.executable).parent
WAIT_SECONDS = 20

#: The ten categories of the README: code -> is food.
README_CATEGORIES = {
    "kopi": True, "teh-herbal": True, "camilan": True, "pangan-pokok": True, "gula-madu": True,
    "rempah": True, "olahan-laut": True, "olahan-daging": True,
    "tenun": False, "kerajinan": False,
}


# --- production settings ------------------------------------------------------------------

@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """The environment of a production start, with no SECRET_KEY."""
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("PUBLIC_URL", "https://shop.example")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    # Whether Redis answers is tests/test_production_checks.py's matter (a laptop may have none).
    monkeypatch.setenv("VERIFY_SERVICES", "0")
    return monkeypatch


def test_production_refuses_a_missing_secret_key(production_env):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    # An override that leaves it empty is refused as well.
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": None})


@pytest.mark.parametrize("weak", [
    "dev", "DEV", "secret", "changeme", "",
    "x" * 10,                      # short
    "0f3c9a7e51d24b86a0c7e2f9d4b1a63",  # 31 random-looking characters: one short of the minimum
    "a" * 32,                      # long enough, no randomness at all
    "ab" * 24,                     # one short piece repeated
    "abcdefghijklmnopqrstuvwxyz012345",  # a run of neighbouring characters
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" * 2,  # long, but about 22 bits by its spread
])
def test_production_refuses_a_weak_secret_key(production_env, weak):
    production_env.setenv("SECRET_KEY", weak)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    production_env.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": weak})


def test_production_refusal_does_not_depend_on_the_environment_variable(monkeypatch, tmp_path):
    """STOREFRONT_ENV given as an override is production as much as the variable is."""
    monkeypatch.delenv("STOREFRONT_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"STOREFRONT_ENV": "production", "SECRET_KEY": "dev",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


def test_production_starts_with_a_strong_key_and_secure_cookies(production_env):
    key = secrets.token_hex(32)
    assert len(key) == 64
    production_env.setenv("SECRET_KEY", key)
    app = create_app()
    assert app.config["SECRET_KEY"] == key
    assert app.config["STOREFRONT_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    # The same through an override, with nothing in the environment.
    production_env.delenv("SECRET_KEY")
    app = create_app({"SECRET_KEY": secrets.token_urlsafe(48)})
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("value", ["", "shop.example", "ftp://shop.example", "https://",
                                   "https://shop.example/?x=1", "https://user:pw@shop.example"])
def test_production_refuses_a_missing_or_odd_public_url(production_env, value):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("PUBLIC_URL", value)
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        create_app()


def test_production_wants_redis_for_shared_limits_or_an_explicit_choice(production_env, caplog):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.delenv("REDIS_URL")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app()
    production_env.setenv("ALLOW_PER_PROCESS_LIMITS", "1")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert "rate limits are counted in each process" in caplog.text
    production_env.delenv("ALLOW_PER_PROCESS_LIMITS")
    production_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"


def test_production_trusts_only_the_public_host(production_env):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("EXTRA_HOSTS", "www.shop.example")
    app = create_app()
    assert app.config["TRUSTED_HOSTS"] == ["shop.example", "www.shop.example"]


def test_development_does_not_demand_a_key_nor_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("STOREFRONT_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert len(app.config["SECRET_KEY"]) >= 32
    assert not app.config.get("SESSION_COOKIE_SECURE")


# --- gunicorn over real HTTP --------------------------------------------------------------

def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _base_env(tmp):
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "STOREFRONT_ENV", "FLASK_APP", "BIND", "PORT", "GUNICORN_CMD_ARGS"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'shop.db'}", MEDIA_ROOT=str(tmp / "media"),
               PYTHONUNBUFFERED="1", ALLOW_PER_PROCESS_LIMITS="1")
    return env


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """A temp folder with a SQLite database migrated by ``flask db upgrade`` in a subprocess."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = _base_env(tmp)
    env["SECRET_KEY"] = secrets.token_hex(32)  # development run: keep instance/ untouched
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi:app", "db", "upgrade"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp / "shop.db").exists()
    return tmp


def _start_gunicorn(tmp, env, log):
    port = _free_port()
    env = dict(env, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", PUBLIC_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_gunicorn_refuses_to_start_without_secret_key(migrated_sqlite):
    tmp = migrated_sqlite
    log_path = tmp / "nokey.log"
    with open(log_path, "wb") as log:
        proc, _ = _start_gunicorn(tmp, _base_env(tmp), log)
        try:
            code = proc.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _stop(proc)
    output = log_path.read_text(errors="replace")
    assert code is not None, f"gunicorn still running after {WAIT_SECONDS}s:\n{output}"
    assert code != 0, output
    assert "SECRET_KEY" in output, output


def _get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_gunicorn_serves_health_and_catalogue_over_http(migrated_sqlite):
    tmp = migrated_sqlite
    env = _base_env(tmp)
    env["SECRET_KEY"] = secrets.token_hex(32)
    log_path = tmp / "serve.log"
    with open(log_path, "wb") as log:
        proc, base = _start_gunicorn(tmp, env, log)
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            health = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    health = _get(base + "/healthz", timeout=2)
                    break
                except (urllib.error.URLError, ConnectionError, socket.timeout):
                    time.sleep(0.2)
            output = log_path.read_text(errors="replace")
            assert health is not None, f"gunicorn did not answer (exit {proc.poll()}):\n{output}"
            status, headers, body = health
            assert status == 200, body
            assert headers.get_content_type() == "application/json"
            assert json.loads(body)["status"] == "ok"

            status, headers, body = _get(base + "/produk")
            assert status == 200, body[:2000]
            assert headers.get_content_type() == "text/html"
            assert b"<html" in body.lower()
            # A Host that is not PUBLIC_URL's is refused before any page is built.
            refused = urllib.request.Request(base + "/lupa-sandi", headers={"Host": "evil.example"})
            try:
                urllib.request.urlopen(refused, timeout=5)
                refused_status = 200
            except urllib.error.HTTPError as err:
                refused_status = err.code
            assert refused_status == 400
            # Secrets in URLs never reach the access log.
            _get(base + "/reset-sandi/S3CRETreset0token")
            _get(base + "/pesanan/NTT-261202-AAAAAA?kunci=S3CRETorder0key")
            assert proc.poll() is None, "gunicorn died while serving"
        finally:
            _stop(proc)
        output = log_path.read_text(errors="replace")
        assert "GET /reset-sandi/[redacted]" in output, output[-2000:]
        assert "kunci=[redacted]" in output
        assert "S3CRET" not in output


# --- health check -------------------------------------------------------------------------

def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


@pytest.fixture
def unreachable_app(backend, tmp_path):
    """An app whose database cannot be reached (a folder that does not exist, a closed port)."""
    config = {"TESTING": True, "MEDIA_ROOT": str(tmp_path / "media")}
    if backend == "sqlite":
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:////nonexistent-dir/x.db"
    else:
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://postgres@127.0.0.1:1/test"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 2}}
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_healthz_answers_503_json_when_the_database_is_unreachable(unreachable_app):
    client = unreachable_app.test_client()
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json()["status"] != "ok"


def test_pages_answer_503_with_a_friendly_page_when_the_database_is_unreachable(unreachable_app):
    client = unreachable_app.test_client()
    client.set_cookie("lang", "en")
    for path in ("/produk", "/", "/desa"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "Temporarily unavailable" in html
        assert f'href="{path}"' in html  # "try again" points back at the page
        assert "Traceback" not in html
    api = client.get("/api/v1/products")
    assert api.status_code == 503
    assert api.is_json


# --- schema -------------------------------------------------------------------------------

def _not_a_search_index(obj, name, type_, reflected, compare_to):
    """The PostgreSQL-only trigram indexes are not in the models; the next test checks them."""
    from storefront.catalog.browse import TRIGRAM_INDEXES

    return not (type_ == "index" and reflected and name in TRIGRAM_INDEXES)


def test_migrations_match_the_models(app):
    """The schema made by ``flask db upgrade`` is exactly what the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _not_a_search_index})
        differences = compare_metadata(context, db.metadata)
        tables = set(db.inspect(conn).get_table_names())
    assert differences == []
    assert tables - {"alembic_version"} == set(db.metadata.tables)
    assert "alembic_version" in tables


def test_search_has_its_trigram_indexes_on_postgresql_only(app, backend):
    """Each ILIKE the search asks of products and villages has a pg_trgm GIN index on PostgreSQL
    (migration 8e03b8d86d63); SQLite has none of them and searches with LIKE."""
    from storefront.catalog.browse import TRIGRAM_INDEXES

    found = {}
    if backend == "postgresql":
        rows = db.session.execute(text(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname LIKE '%\\_trgm'"))
        found = {name: (table, definition) for name, table, definition in rows}
        assert db.session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")) == 1
    else:
        names = db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")).all()
        assert not set(names) & set(TRIGRAM_INDEXES)
        return
    assert set(found) == set(TRIGRAM_INDEXES)
    for name, (table, column) in TRIGRAM_INDEXES.items():
        assert found[name][0] == table
        assert f"USING gin ({column} gin_trgm_ops)" in found[name][1], found[name][1]


def test_migration_seeds_the_ten_categories(app):
    from storefront.products.models import Category

    rows = db.session.execute(select(Category.code, Category.is_food)).all()
    assert dict(rows) == README_CATEGORIES
    assert len(rows) == 10


def test_no_create_all_in_the_package():
    """Migrations are the only source of the schema."""
    found = subprocess.run(["grep", "-rln", "create_all", str(ROOT / "storefront"),
                            str(ROOT / "wsgi.py")], capture_output=True, text=True)
    assert found.returncode == 1, f"create_all found in: {found.stdout}"  # 1: no match
    # grep works: it does find the word where it is used on purpose.
    assert subprocess.run(["grep", "-q", "create_all", __file__]).returncode == 0


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app, backend):
    if backend != "sqlite":
        pytest.skip("WAL and busy_timeout are SQLite settings")
    assert db.session.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() > 0
    # Every new connection gets them, not just the first.
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() > 0
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("column", ["stock", "price_idr"])
def test_database_refuses_negative_stock_and_price(app, column):
    from storefront.products.models import Product

    product = make_product(make_certified_village(), "tenun")
    with pytest.raises(IntegrityError):
        db.session.execute(update(Product).where(Product.id == product.id).values({column: -1}))
        db.session.commit()
    db.session.rollback()
    # Zero is allowed, and the refused value was not kept.
    db.session.execute(update(Product).where(Product.id == product.id).values({column: 0}))
    db.session.commit()
    assert db.session.scalar(select(getattr(Product, column)).where(Product.id == product.id)) == 0


def test_production_refuses_a_weak_key_among_the_fallbacks(production_env):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("SECRET_KEY_FALLBACKS", f"{secrets.token_hex(32)}, changeme")
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS: key 2"):
        create_app()
    production_env.setenv("SECRET_KEY_FALLBACKS", f"{secrets.token_hex(32)},")
    assert len(create_app().config["SECRET_KEY_FALLBACKS"]) == 1
