"""Faults: the database going away, Stripe timing out or failing, a worker killed mid-order.

A restart of the outbox worker losing no event is proved in ``test_outbox.py``
(``test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_with_the_same_id`` and
``test_sigterm_lets_the_worker_finish_the_message_in_hand``); it is not repeated here.
"""
import html
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import create_engine, func, make_url, select, text

from storefront import create_app
from storefront.clock import now_utc
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.orders.services import expire_unpaid_orders
from storefront.products.models import Product

from .factories import make_certified_village, make_sellable_food
from .gunicorn_server import gunicorn
from .local_http import serve_in_thread
from .mail_server import free_port
from .test_stripe import SECRET_KEY, WEBHOOK_SECRET, _hidden, _number, _order, _stock, indonesian, place

# --- the database goes away, then comes back ------------------------------------------------------

def _cut_off_postgres(url, allow):
    """Refuse (or allow again) new connections to the test database and end the open ones."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allow else "false"}'))
        if not allow:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    admin.dispose()


@pytest.fixture
def file_app(backend, database_url, tmp_path):
    """An app on its own SQLite file in a folder the test can take away, or on the PostgreSQL test
    database (whose connections the test can refuse and end)."""
    if backend == "sqlite":
        folder = tmp_path / "data"
        folder.mkdir()
        (folder / "shop.db").write_bytes(Path(make_url(database_url).database).read_bytes())
        url = f"sqlite:///{folder / 'shop.db'}"
    else:
        url = database_url
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "MEDIA_ROOT": str(tmp_path / "m")})
    app.database_folder = tmp_path / "data"
    yield app
    if backend == "postgresql":
        _cut_off_postgres(url, allow=True)
    with app.app_context():
        db.engine.dispose()


def test_database_away_mid_session_answers_503_in_the_users_language_and_recovers(file_app, backend):
    client = file_app.test_client()
    assert client.get("/produk").status_code == 200  # a pooled connection exists
    if backend == "sqlite":
        file_app.database_folder.rename(file_app.database_folder.with_name("gone"))
        with file_app.app_context():
            db.engine.dispose()  # the pool's open files would outlive the rename
    else:
        _cut_off_postgres(file_app.config["SQLALCHEMY_DATABASE_URI"], allow=False)

    for language, title in (("en", "Temporarily unavailable"), ("id", indonesian("Temporarily unavailable"))):
        client.set_cookie("lang", language)
        response = client.get("/produk")
        assert response.status_code == 503
        assert response.mimetype == "text/html"
        page = html.unescape(response.get_data(as_text=True))
        assert title in page and "Traceback" not in page
        assert f'lang="{language}"' in page
    api = client.get("/api/v1/products")
    assert api.status_code == 503 and api.is_json
    assert client.get("/healthz").status_code == 503

    if backend == "sqlite":
        file_app.database_folder.with_name("gone").rename(file_app.database_folder)
    else:
        _cut_off_postgres(file_app.config["SQLALCHEMY_DATABASE_URI"], allow=True)
    # No restart: the next requests work (PostgreSQL: pool_pre_ping drops the dead connections).
    assert client.get("/produk").status_code == 200
    assert client.get("/healthz").status_code == 200


# --- Stripe times out or fails -------------------------------------------------------------------

class SlowOrBrokenStripe:
    """Stripe's API answering too late (after ``sleep`` seconds, or as soon as it is closed) or
    with a 500."""

    def __init__(self, mode):
        self.mode, self.calls, self.sleep = mode, 0, 3.0
        # Closing ends the wait: the server joins its request threads as it closes, and a test
        # would otherwise sit out the rest of the delay its buyer no longer waits for.
        self.closed = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.calls += 1
                if outer.mode == "slow":
                    outer.closed.wait(outer.sleep)
                body = b'{"error": {"type": "api_error", "message": "Something went wrong"}}'
                try:
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        serve_in_thread(self.server)

    def close(self):
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode", ["slow", "broken"])
def test_stripe_timing_out_or_failing_keeps_the_order_awaiting_payment_until_its_hold_ends(app, client, mode):
    stripe = SlowOrBrokenStripe(mode)
    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_API_BASE=stripe.url, STRIPE_TIMEOUT=0.5)
    try:
        product = make_sellable_food(stock=10, price_idr=85000)
        product_id = product.id
        placed = place(client, product, quantity=2)
        number = _number(placed.headers["Location"])
        started = time.monotonic()
        paying = client.get(placed.headers["Location"])
        took = time.monotonic() - started
    finally:
        stripe.close()
    assert stripe.calls >= 1
    assert took < 8, f"the buyer waited {took:.1f} s"  # two tries of 0.5 s, not Stripe's default 80 s
    assert paying.status_code == 303
    back = urlsplit(paying.headers["Location"])
    assert back.path == f"/pesanan/{number}"
    order = _order(number)
    assert order.status == "awaiting_payment" and order.stripe_session_id is None
    assert _stock(product_id) == 8  # held ...
    page = html.unescape(client.get(f"{back.path}?{back.query}").get_data(as_text=True))
    assert indonesian("The card payment service did not answer. Your order is kept and its stock "
                      "held; try again in a moment.") in page
    # ... only until the hold ends: then the order expires and the stock comes back.
    assert order.expires_at is not None
    expire_unpaid_orders(now=now_utc() + timedelta(days=3))
    db.session.commit()
    assert _order(number).status == "expired"
    assert _stock(product_id) == 10


def test_the_stripe_timeout_is_small_by_default(app):
    assert app.config["STRIPE_TIMEOUT"] == 10
    from storefront.payments.stripe_gateway import _client

    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY)
    assert _client()._requestor._get_http_client()._timeout == 10


# --- a gunicorn worker killed inside place_order ----------------------------------------------------

def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.fixture
def gunicorn_shop(app, database_url, tmp_path):
    env = dict(DATABASE_URL=database_url, MEDIA_ROOT=str(tmp_path / "media"),
               SCAN_ROOT=str(tmp_path / "scans"), SECRET_KEY=secrets.token_hex(32),
               STOREFRONT_ENV="development", WEB_CONCURRENCY="1", GUNICORN_THREADS="1",
               RATELIMIT_ENABLED="0")
    with gunicorn(env, free_port(), tmp_path / "gunicorn.log") as server:
        yield server


def _csrf(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _ready_to_place(url, products):
    """A buyer's session with ``products`` in the cart and a quoted checkout; the final form."""
    from .test_stripe import ADDRESS

    buyer = requests.Session()
    for product in products:
        page = buyer.get(f"{url}/produk/{product.slug}", timeout=10).text
        assert 'action="/keranjang/tambah"' in page  # no token; the origin says it is the shop's
        added = buyer.post(f"{url}/keranjang/tambah", data={"product_id": product.id, "quantity": 2},
                           headers={"Origin": url}, allow_redirects=False, timeout=10)
        assert added.status_code == 303
    page = buyer.get(f"{url}/checkout", timeout=10).text
    form = {"csrf_token": _csrf(page), "idempotency_key": _hidden(page, "idempotency_key"),
            "payment_method": "bank_transfer", **ADDRESS}
    quoted = buyer.post(f"{url}/checkout", data={**form, "action": "quote"}, timeout=10)
    assert quoted.status_code == 200, quoted.status_code
    return buyer, {**form, "expected_total": _hidden(quoted.text, "expected_total"), "action": "place"}


def _counts(product_ids):
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(Order)),
            db.session.scalar(select(func.count()).select_from(VillageOrder)),
            db.session.scalar(select(func.count()).select_from(OrderLine)),
            {pid: db.session.scalar(select(Product.stock).where(Product.id == pid)) for pid in product_ids})


def test_a_worker_killed_inside_place_order_leaves_no_half_order(app, backend, database_url, gunicorn_shop):
    first = make_sellable_food(stock=10, price_idr=50000)
    second = make_sellable_food(make_certified_village(), stock=10, price_idr=60000)
    products = [first, second]
    ids = [p.id for p in products]
    buyer, form = _ready_to_place(gunicorn_shop.url, products)
    before = _counts(ids)

    # Hold a lock so the worker blocks inside its transaction: PostgreSQL, the second product's row
    # (the first one's stock is already taken by then); SQLite, the whole database for writing.
    if backend == "postgresql":
        holder = create_engine(database_url).connect()
        holder.begin()
        holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": second.id})
    else:
        holder = sqlite3.connect(make_url(database_url).database, timeout=30, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    outcome = {}

    def place_it():
        try:
            outcome["response"] = buyer.post(f"{gunicorn_shop.url}/checkout", data=form, timeout=60,
                                             allow_redirects=False)
        except requests.RequestException as exc:
            outcome["error"] = exc

    placing = threading.Thread(target=place_it)
    placing.start()
    try:
        if backend == "postgresql":
            watcher = create_engine(database_url)
            for _ in range(100):  # until the worker waits for our lock
                with watcher.connect() as conn:
                    if conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND datname = current_database()")):
                        break
                time.sleep(0.1)
            else:
                pytest.fail("the worker never waited for the lock")
            watcher.dispose()
        else:
            time.sleep(1.5)  # the worker reaches its first write and waits for the lock
        assert "response" not in outcome, "place_order did not block on the lock"
        workers = _children(gunicorn_shop.pid)
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        placing.join(30)
    finally:
        if backend == "postgresql":
            holder.rollback()
        else:
            holder.execute("ROLLBACK")
        holder.close()
    assert "error" in outcome or outcome["response"].status_code >= 500

    assert _counts(ids) == before, "a killed worker left part of an order behind"
    # gunicorn starts a new worker, which places the order whole.
    for _ in range(100):
        try:
            if requests.get(gunicorn_shop.url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    again = buyer.post(f"{gunicorn_shop.url}/checkout", data=form, timeout=30, allow_redirects=False)
    assert again.status_code == 303, again.status_code
    orders, parcels, lines, stock = _counts(ids)
    assert (orders, parcels, lines) == (before[0] + 1, before[1] + 2, before[2] + 2)
    assert stock == {pid: 8 for pid in ids}
