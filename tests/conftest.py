"""Fixtures: every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

The schema comes from the migrations (``flask db upgrade``) once per database per run. Each test
process builds one app per database and lends it to every test, as one gunicorn worker serves
many requests: a test gets it back with the settings it started with, an empty cache and empty
tables (the ten categories, seeded by the migration, stay). A test that adds routes or changes a
setting read only at start-up builds its own with ``fresh_app``.
"""
import os
import re
import secrets

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, make_url, text

from storefront import create_app
from storefront.catalog.caching import clear_cache
from storefront.config import normalise_database_url
from storefront.extensions import db
from storefront.ratelimit import limiter

from .mail_server import Mailbox, free_port

#: The local S3 server's fixture (``s3_server``), for any test that needs an object store.
pytest_plugins = ["tests.s3_server"]

PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP_REASON = ("TEST_DATABASE_URL is not set, so the PostgreSQL run is skipped "
                  "(.ci/run sets it to postgresql+psycopg://postgres@127.0.0.1:5432/test)")
#: Reference data seeded by the migrations; kept between tests (rates are reset instead).
KEEP_TABLES = {"categories", "alembic_version", "shipping_rates", "catalogue_state"}
DEFAULT_RATES = {"same_regency": 12000, "ntt": 25000, "indonesia": 55000}
#: Every test app's settings. Thousands of test passwords are hashed with one round of PBKDF2;
#: test_accounts.py proves that production refuses anything but scrypt.
TEST_SETTINGS = {
    "TESTING": True,
    "MAIL_SERVER": None,
    "OFFICE_EMAIL": "",
    "SERVER_NAME": "shop.test",
    "PUBLIC_URL": "http://shop.test",
    "RATELIMIT_ENABLED": False,  # on in tests/test_sign_in_security.py, which builds its own app
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
}
#: What a production start needs besides the database (a key with real randomness, the public
#: address, and per-process limits accepted knowingly since these apps have no Redis).
PRODUCTION_SETTINGS = {"STOREFRONT_ENV": "production", "SECRET_KEY": "9f3Xq1Lz0pWm4Rt7c2Vb8Nd6Hs5Kj3Ge1Ya0Uo9Ti8Rw7Eq",
                       "PUBLIC_URL": "https://shop.test", "ALLOW_PER_PROCESS_LIMITS": True}


def _private_postgres_database(url):
    """A fresh database next to the one named, so parallel runs never share tables.

    Yields its URL and drops it afterwards.
    """
    base = make_url(url)
    name = f"{base.database}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a crash of the server: its commits do not wait for the disk.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_database(request, folder):
    """The URL of a new, empty database of the backend ``request.param`` names (SQLite in
    ``folder``, or a private PostgreSQL database dropped when ``request`` ends)."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        databases = _private_postgres_database(normalise_database_url(PG_URL))
        url = next(databases)
        request.addfinalizer(lambda: next(databases, None))
        return url
    return f"sqlite:///{folder / 'test.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database: SQLite in a temp folder, or a private PostgreSQL database."""
    url = empty_database(request, tmp_path_factory.mktemp("db"))
    app = build_app(url, tmp_path_factory.mktemp("migrate"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def build_app(database_url, folder, **settings):
    """A test app on ``database_url`` keeping its files under ``folder``."""
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url,
                      "MEDIA_ROOT": str(folder / "media"), "SCAN_ROOT": str(folder / "scans"), **settings})
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture
def backend(database_url):
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in a real server.

    Otherwise requests share the test's app context, and with it ``g`` (cached locale, signed-in
    user) and the database session. Like every current browser on the shop's own pages, the
    client says so in ``Sec-Fetch-Site`` (a test may send another value, or drop it from
    ``environ_base``); "Add to cart" refuses a post without it (storefront/same_origin.py).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_SEC_FETCH_SITE"] = "same-origin"

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory):
    """This process's app on this database (see the module's docstring)."""
    return build_app(database_url, tmp_path_factory.mktemp("app"))


@pytest.fixture
def app(shared_app, tmp_path):
    settings = dict(shared_app.config)
    shared_app.config.update(MEDIA_ROOT=str(tmp_path / "media"), SCAN_ROOT=str(tmp_path / "scans"))
    # The limiter is one object for every app of the process: an app built with limits on (a
    # test's own) must not leave them on for this one.
    limiter.enabled = shared_app.config["RATELIMIT_ENABLED"]
    try:
        with shared_app.app_context():
            clear_cache()
            yield shared_app
            db.session.remove()
            _empty_tables()
    finally:
        shared_app.config.clear()
        shared_app.config.update(settings)


@pytest.fixture
def fresh_app(database_url, tmp_path):
    """An app of the test's own, for a test that adds routes or changes settings read at start-up."""
    app = build_app(database_url, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _empty_tables():
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    with db.engine.begin() as conn:
        # The ledger refuses DELETE (append-only); a purge lifts that for itself (see its migration).
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL storefront.ledger_purge = 'on'"))
            guards = []
        else:
            guards = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                       "AND tbl_name = 'ledger_entries'")).all()
            for name, _sql in guards:
                conn.execute(text(f"DROP TRIGGER {name}"))
        # DELETE, not TRUNCATE: a few rows go in well under a millisecond, where TRUNCATE makes
        # new files for 35 tables (170 ms). Ids start at 1 again, as after TRUNCATE ... RESTART.
        resets = [f'DELETE FROM "{table.name}"' for table in tables]
        resets += [f"UPDATE shipping_rates SET rate_per_kg_idr = {int(rate)} WHERE zone = '{zone}'"
                   for zone, rate in DEFAULT_RATES.items()]
        if conn.dialect.name == "postgresql":
            # One round trip instead of forty (12 ms of every test).
            resets.append("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
            conn.exec_driver_sql("; ".join(resets))
        else:
            for statement in resets:
                conn.exec_driver_sql(statement)
        for _name, sql in guards:
            conn.execute(text(sql))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback, with the app sending to it; yields its ``Mailbox``."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_STARTTLS=False,
                      MAIL_USERNAME=None, MAIL_TIMEOUT=5)
    try:
        yield mailbox
    finally:
        controller.stop()


class QueryCounter:
    """Counts SQL statements sent to the database while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on_execute)

    @property
    def count(self):
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    return lambda: QueryCounter(db.engine)


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html):
    """The CSRF token of the first form on a page, as a browser would send it."""
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
