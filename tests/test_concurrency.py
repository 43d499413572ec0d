"""Many buyers at once, over real HTTP, on a real database (SQLite file and PostgreSQL).

The app is served by Werkzeug's threaded server on loopback; every buyer is a thread with a
cookie jar of its own that goes through the pages as a browser would (product page, add to
cart with the CSRF token, checkout, shipping quote), and then all of them press "Place order"
at the same moment.
"""
import html
import itertools
import logging
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.orders.models import Order, OrderEvent, OrderLine
from storefront.products.models import Product

from .factories import make_sellable_food
from .local_http import app_on_socket

TIMEOUT = 60  # seconds, for every request and every wait
PO_FILE = Path(__file__).resolve().parent.parent / "storefront/translations/id/LC_MESSAGES/messages.po"
SOLD_OUT_MSGID = "Sorry, %(name)s has just sold out or has fewer left than you asked for."
LOCKED = "database is locked"

ADDRESS = {
    "phone": "0812 3456 7890", "province": "Nusa Tenggara Timur", "regency": "53.09",
    "district": "Bajawa", "village_ward": "Trikora", "postal_code": "86413",
    "street": "Jl. Soekarno-Hatta No. 5, RT 02/RW 01",
}


@lru_cache(maxsize=1)
def _catalogue():
    """The catalogue the translators edit, read once per process (reading it takes some 50 ms)."""
    with PO_FILE.open("rb") as handle:
        return read_po(handle)


def indonesian(msgid, **values):
    """The shop's Indonesian for ``msgid``, from the catalogue the translators edit."""
    message = _catalogue().get(msgid)
    assert message is not None and message.string, f"no Indonesian for {msgid!r}"
    return message.string % values


class LogRecorder(logging.Handler):
    """Keeps every log line (with tracebacks) the app and the server write while serving."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []
        self._guard = threading.Lock()

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        with self._guard:
            self.lines.append(f"{record.name} {record.levelname} {text}")

    @property
    def text(self):
        with self._guard:
            return "\n".join(self.lines)

    def settled(self, quiet=0.3, limit=5.0):
        """The log once the server stopped writing (it logs a failed request after answering)."""
        deadline = time.monotonic() + limit
        seen = -1
        while time.monotonic() < deadline and seen != len(self.lines):
            seen = len(self.lines)
            time.sleep(quiet)
        return self.text


@pytest.fixture
def live(app):
    """The app on a real socket: ``live.url``, ``live.log``. Stopped after the test."""
    app.config["SERVER_NAME"] = None  # requests arrive for 127.0.0.1:<port>, not shop.test
    recorder = LogRecorder()
    loggers = [app.logger, logging.getLogger("werkzeug")]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.addHandler(recorder)
        logger.setLevel(logging.INFO)
        # Alembic's fileConfig (migrations/env.py) disables loggers that existed before it ran.
        logger.disabled = False
    try:
        with app_on_socket(app, name="live-server", join_seconds=TIMEOUT) as url:
            yield SimpleNamespace(url=url, log=recorder)
    finally:
        for logger, level, disabled in saved:
            logger.removeHandler(recorder)
            logger.setLevel(level)
            logger.disabled = disabled


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def hidden(page, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page) or re.search(
        rf'<input[^>]*id="{name}"[^>]*>', page)
    assert match, f"no {name} field on the page"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


class Buyer:
    """One browser: its own cookie jar, a timeout on every request, no automatic redirects."""

    def __init__(self, base, n, cookies=None):
        self.base = base
        self.n = n
        self.http = requests.Session()
        if cookies is not None:
            self.http.cookies.update(cookies)

    def get(self, path, **kw):
        return self.http.get(self.base + path, timeout=TIMEOUT, allow_redirects=False, **kw)

    def post(self, path, data, **kw):
        return self.http.post(self.base + path, data=data, timeout=TIMEOUT, allow_redirects=False, **kw)

    def add_to_cart(self, product_slug, product_id):
        page = self.get(f"/produk/{product_slug}")
        assert page.status_code == 200, page.status_code
        # The form holds no token; like a browser, the buyer says which page it posts from.
        assert 'action="/keranjang/tambah"' in page.text
        added = self.post("/keranjang/tambah", {"product_id": str(product_id), "quantity": "1"},
                          headers={"Origin": self.base})
        assert added.status_code == 303 and added.headers["Location"].endswith("/keranjang"), (
            added.status_code, added.headers.get("Location"))

    def quote(self, method="bank_transfer"):
        """Open the checkout, fill it in, ask for the shipping; returns the form to place."""
        page = self.get("/checkout")
        assert page.status_code == 200, page.status_code
        form = {"csrf_token": CSRF.search(page.text).group(1),
                "idempotency_key": hidden(page.text, "idempotency_key"),
                "name": f"Pembeli {self.n}", "email": f"pembeli{self.n}@contoh.id",
                "payment_method": method, **ADDRESS}
        kept = self.post("/checkout", {**form, "action": "quote"})
        assert kept.status_code == 303, kept.status_code  # POST, redirect, GET
        quoted = self.get("/checkout")
        assert quoted.status_code == 200, quoted.status_code
        total = hidden(quoted.text, "expected_total")
        assert total.isdigit(), total
        return {**form, "expected_total": total, "action": "place"}


def _run_all(count, work):
    """Run ``work(i)`` in ``count`` threads; returns their results (or raises the first error)."""
    results, errors = [None] * count, []

    def run(i):
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the others freed
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"buyer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3 * TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a buyer is still waiting after the timeout"
    if errors:
        raise errors[0]
    return results


def _stock(product_id):
    db.session.rollback()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def _count(model, *where):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _settle_checks(live, results):
    """What every concurrent run must leave behind: no 5xx, no locked database, no traceback."""
    log = live.log.settled()
    assert "POST /checkout HTTP/1.1" in log, "the server's log was not captured"
    assert not any(LOCKED in r["body"] for r in results)
    assert LOCKED not in log
    assert [r["status"] for r in results if r["status"] >= 500] == [], log[-3000:]
    assert log.count("Traceback") == 0, log[-3000:]


def _race_for_the_last_units(live, buyers, stock):
    product = make_sellable_food(stock=stock, price_idr=85000, weight_grams=250)
    product_id, slug, name = product.id, product.slug, product.name
    db.session.commit()
    barrier = threading.Barrier(buyers, timeout=TIMEOUT)

    def buy(i):
        buyer = Buyer(live.url, i)
        try:
            buyer.add_to_cart(slug, product_id)
            form = buyer.quote()
        except BaseException:
            barrier.abort()  # the others must not wait for a buyer who fell over
            raise
        barrier.wait()
        placed = buyer.post("/checkout", form)
        result = {"buyer": buyer, "status": placed.status_code,
                  "location": placed.headers.get("Location", ""), "body": html.unescape(placed.text)}
        return result

    return product_id, name, _run_all(buyers, buy)


def test_thirty_buyers_for_the_last_five_units(app, live, backend):
    product_id, name, results = _race_for_the_last_units(live, buyers=30, stock=5)

    _settle_checks(live, results)
    won = [r for r in results if r["status"] == 303 and r["location"].startswith("/pesanan/")]
    lost = [r for r in results if r not in won]
    assert len(won) == 5, sorted((r["status"], r["location"][:12]) for r in results)
    assert _stock(product_id) == 0
    assert _count(Order) == 5
    assert _count(OrderLine, OrderLine.product_id == product_id) == 5
    assert db.session.scalar(select(func.sum(OrderLine.quantity))) == 5
    assert _count(OrderEvent, OrderEvent.to_status == "awaiting_payment") == 5
    numbers = {r["location"].split("/pesanan/")[1].split("?")[0] for r in won}
    assert numbers == set(db.session.scalars(select(Order.number)))

    # Each of the 25 others is told on the checkout page that the product sold out.
    sold_out = indonesian(SOLD_OUT_MSGID, name=name)
    for r in lost:
        assert r["status"] == 422 and sold_out in r["body"], (r["status"], r["location"])
    assert len(lost) == 25


def test_a_buyer_who_lost_the_race_gets_the_sold_out_message_on_the_checkout_page(app, live, backend):
    product = make_sellable_food(stock=1, price_idr=85000, weight_grams=250)
    product_id, slug, name = product.id, product.slug, product.name
    db.session.commit()
    late, early = Buyer(live.url, 1), Buyer(live.url, 2)
    for buyer in (late, early):
        buyer.add_to_cart(slug, product_id)
    late_form = late.quote()
    assert early.post("/checkout", early.quote()).status_code == 303  # the last unit goes
    assert _stock(product_id) == 0

    placed = late.post("/checkout", late_form)  # a moment too late

    assert _count(Order) == 1 and _stock(product_id) == 0
    assert placed.status_code == 422, (placed.status_code, placed.headers.get("Location"))
    assert indonesian(SOLD_OUT_MSGID, name=name) in html.unescape(placed.text)


def _ready_checkout(live):
    """One buyer's cart quoted and ready to place: (product id, the form, the browser's cookies)."""
    product = make_sellable_food(stock=5, price_idr=85000, weight_grams=250)
    product_id, slug = product.id, product.slug
    db.session.commit()
    first = Buyer(live.url, 1)
    first.add_to_cart(slug, product_id)
    return product_id, first.quote(), first.http.cookies.get_dict()


def _click(live, cookies, form):
    """Press "Place order" in another tab of the same browser; what it answered."""
    tab = Buyer(live.url, 1, cookies=cookies)
    placed = tab.post("/checkout", form)
    return {"tab": tab, "status": placed.status_code, "location": placed.headers.get("Location", ""),
            "body": placed.text}


def _double_submit(live, clicks):
    product_id, form, cookies = _ready_checkout(live)
    barrier = threading.Barrier(clicks, timeout=TIMEOUT)

    def click(i):
        # The same browser (same cookies, same form, same idempotency key) on five connections.
        barrier.wait()
        return _click(live, cookies, form)

    return product_id, _run_all(clicks, click)


def test_the_same_checkout_sent_five_times_at_once_makes_one_order(app, live, backend):
    product_id, results = _double_submit(live, clicks=5)

    _settle_checks(live, results)
    assert _count(Order) == 1
    assert _stock(product_id) == 4
    assert _count(OrderLine) == 1
    assert _count(OrderEvent) == 1
    [number] = db.session.scalars(select(Order.number)).all()
    # Every click is sent to that one order, with the private link that opens it.
    assert [r["status"] for r in results] == [303] * 5
    assert all(r["location"].startswith(f"/pesanan/{number}?kunci=") for r in results), \
        [r["location"] for r in results]


@pytest.fixture
def order_committed():
    """An event set once a session that inserted an order has committed (the end of the first
    click's unit of work), whichever thread it ran in."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    committed = threading.Event()

    def flushed(session, _context):
        if any(isinstance(obj, Order) for obj in session.new):
            session.info["placed an order"] = True

    def after_commit(session):
        if session.info.pop("placed an order", False):
            committed.set()

    event.listen(Session, "after_flush", flushed)
    event.listen(Session, "after_commit", after_commit)
    yield committed
    event.remove(Session, "after_flush", flushed)
    event.remove(Session, "after_commit", after_commit)


def test_a_repeat_submit_that_finds_the_cart_just_emptied_is_not_a_500(app, live, backend, monkeypatch,
                                                                       order_committed):
    from storefront.checkout import services as checkout_services

    product_id, form, cookies = _ready_checkout(live)

    # Pause points in the real code, to force the interleaving the 5-click race finds by chance:
    # click A waits inside place_order until click B is there too; B waits until A committed.
    b_arrived, a_committed, calls = threading.Event(), order_committed, itertools.count()
    real_review = checkout_services.review_cart

    def paused_review(cart, *args, **kwargs):
        if next(calls) == 0:
            b_arrived.wait(TIMEOUT)
        else:
            b_arrived.set()
            a_committed.wait(TIMEOUT)
        return real_review(cart, *args, **kwargs)

    monkeypatch.setattr(checkout_services, "review_cart", paused_review)

    results = _run_all(2, lambda i: _click(live, cookies, form))

    assert b_arrived.is_set() and a_committed.is_set(), "the interleaving was not forced"
    assert _count(Order) == 1 and _stock(product_id) == 4
    assert [r["status"] for r in results if r["status"] >= 500] == []


def test_every_click_of_a_double_submit_can_open_the_order(app, live, backend):
    product_id, results = _double_submit(live, clicks=5)

    assert _count(Order) == 1
    for r in results:
        page = r["tab"].get(r["location"])
        assert page.status_code == 200, (r["location"], page.status_code)


def test_a_repeat_submit_that_just_missed_the_order_is_still_sent_to_it(app, live, backend, monkeypatch,
                                                                       order_committed):
    from storefront.checkout import routes as checkout_routes, services as checkout_services

    product_id, form, cookies = _ready_checkout(live)

    # Click B looks for the order before click A commits it, and goes on only after A has.
    b_looked, a_committed, calls = threading.Event(), order_committed, itertools.count()
    real_lookup, real_review = checkout_routes._order_by_key, checkout_services.review_cart

    def paused_lookup(key):
        n, found = next(calls), real_lookup(key)
        if n == 1:
            b_looked.set()
            a_committed.wait(TIMEOUT)
        return found

    def paused_review(cart, *args, **kwargs):  # only click A gets into place_order
        b_looked.wait(TIMEOUT)
        return real_review(cart, *args, **kwargs)

    monkeypatch.setattr(checkout_routes, "_order_by_key", paused_lookup)
    monkeypatch.setattr(checkout_services, "review_cart", paused_review)

    results = _run_all(2, lambda i: _click(live, cookies, form))

    assert b_looked.is_set() and a_committed.is_set(), "the interleaving was not forced"
    assert _count(Order) == 1 and _stock(product_id) == 4
    [number] = db.session.scalars(select(Order.number)).all()
    assert [r["status"] for r in results] == [303, 303]
    assert [r["location"] for r in results if not r["location"].startswith(f"/pesanan/{number}")] == []
