"""Paying by card through Stripe Checkout, and Stripe's webhooks.

Only Stripe's servers are faked: a small HTTP server on loopback answers
``POST /v1/checkout/sessions`` the way Stripe's API reference documents it (form-encoded
parameters in, a Checkout Session object out, the same answer for a repeated Idempotency-Key),
and the app reaches it through the official ``stripe`` library (STRIPE_API_BASE). Webhook
events are built and signed exactly as Stripe signs them (``Stripe-Signature: t=...,v1=...``,
HMAC-SHA256 of ``"{t}.{payload}"``), and the app checks them with the real library's
``stripe.Webhook.construct_event``. Mail goes to a real SMTP server on loopback.
"""
import hashlib
import hmac
import html
import json
import logging
import random
import re
import secrets
import threading
import time
from datetime import timedelta, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from storefront.clock import now_utc
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.money import format_idr
from storefront.orders.models import Order, OrderEvent, VillageOrder
from storefront.orders.services import expire_unpaid_orders
from storefront.outbox.worker import deliver_due
from storefront.payments.models import StripeEvent
from storefront.products.models import Product
from storefront.settlement.ledger import balance

from .conftest import csrf_token
from .factories import make_sellable_food, make_user, sign_in
from .local_http import app_on_socket, serve_in_thread
from .mail_server import free_port as _free_port

SECRET_KEY = "sk_test_x"
WEBHOOK_SECRET = "whsec_test"
TIMEOUT = 60
PO_FILE = Path(__file__).resolve().parent.parent / "storefront/translations/id/LC_MESSAGES/messages.po"
ADDRESS = {
    "name": "Maria Dhiu", "email": "maria@contoh.id", "phone": "0812 3456 7890",
    "province": "Nusa Tenggara Timur", "regency": "53.09", "district": "Bajawa",
    "village_ward": "Trikora", "postal_code": "86413", "street": "Jl. Soekarno-Hatta No. 5",
}


@lru_cache(maxsize=1)
def _catalogue():
    """The Indonesian catalogue, read once per process (reading it takes some 50 ms)."""
    with PO_FILE.open("rb") as handle:
        return read_po(handle)


def indonesian(msgid):
    message = _catalogue().get(msgid)
    assert message is not None and message.string, f"no Indonesian for {msgid!r}"
    return message.string


# --- a fake of Stripe's API servers ---------------------------------------------------------------


def decode_stripe_form(body):
    """``line_items[0][price_data][unit_amount]=8500000&...`` -> nested dicts and lists."""
    root = {}
    for key, value in parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body)):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node):
        if not isinstance(node, dict):
            return node
        node = {k: listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


def stripe_error(status, kind, message, param=None):
    error = {"type": kind, "message": message}
    if param:
        error["param"] = param
    return status, {"error": error}


class FakeStripe:
    """Stripe's ``/v1/checkout/sessions`` as documented, with a log of what it was sent."""

    def __init__(self):
        self.requests = []   # {"method", "path", "headers", "params"}
        self.sessions = {}   # id -> session object
        self.replies = {}    # Idempotency-Key -> (params, status, body)
        self.offset = 0      # seconds added to this server's clock (tests that move time)
        self.paid = {}       # session id -> the session as paid (a test's completed() event says so)
        self.refunds = []
        self.lock = threading.Lock()

    def now(self):
        return int(time.time()) + self.offset

    def create_session(self, params):
        created = self.now()
        line_items = params.get("line_items") or []
        if params.get("mode") != "payment":
            return stripe_error(400, "invalid_request_error", "Missing required param: mode.", "mode")
        if not line_items:
            return stripe_error(400, "invalid_request_error", "Missing required param: line_items.", "line_items")
        total, currencies = 0, set()
        for i, item in enumerate(line_items):
            price = item.get("price_data") or {}
            amount, quantity = price.get("unit_amount", ""), item.get("quantity", "")
            if not (amount.isdigit() and quantity.isdigit() and int(quantity) >= 1
                    and (price.get("product_data") or {}).get("name")):
                return stripe_error(400, "invalid_request_error", f"Invalid line_items[{i}].",
                                    f"line_items[{i}]")
            currencies.add(price.get("currency"))
            total += int(amount) * int(quantity)
        if len(currencies) != 1:
            return stripe_error(400, "invalid_request_error", "All line items must share one currency.")
        expires_at = int(params["expires_at"]) if params.get("expires_at") else created + 24 * 3600
        # "It can be anywhere from 30 minutes to 24 hours after Checkout Session creation."
        if not created + 30 * 60 <= expires_at <= created + 24 * 3600:
            return stripe_error(400, "invalid_request_error",
                                "The `expires_at` timestamp must be between 30 minutes and 24 hours "
                                "after Checkout Session creation.", "expires_at")
        session_id = "cs_test_" + secrets.token_hex(24)
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
            "payment_status": "unpaid", "currency": currencies.pop(), "amount_subtotal": total,
            "amount_total": total, "created": created, "expires_at": expires_at,
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"), "livemode": False,
            "metadata": params.get("metadata") or {}, "payment_intent": None,
            "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        }
        self.sessions[session_id] = session
        return 200, session

    def remember(self, key, params, create):
        """Stripe's idempotency layer: the same key and parameters give the first answer."""
        if key in self.replies:
            first_params, status, reply = self.replies[key]
            if first_params != params:
                return stripe_error(400, "idempotency_error", "Keys for idempotent requests can only be "
                                    "used with the same parameters they were first used with.")
            return status, reply
        status, reply = create(params)
        if key and status < 500:
            self.replies[key] = (params, status, reply)
        return status, reply

    def create_refund(self, params):
        """``POST /v1/refunds``: a PaymentIntent of a paid session, and no more than was paid."""
        paid = {s["payment_intent"]: s for s in self.paid.values()}
        session = paid.get(params.get("payment_intent"))
        if session is None:
            return stripe_error(400, "invalid_request_error", "No such payment_intent.", "payment_intent")
        amount = int(params.get("amount") or session["amount_total"])
        refunded = sum(r["amount"] for r in self.refunds if r["payment_intent"] == session["payment_intent"])
        if refunded + amount > session["amount_total"]:
            return stripe_error(400, "invalid_request_error", "Refund amount is greater than the charge.", "amount")
        refund = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount, "currency": "idr",
                  "payment_intent": session["payment_intent"], "status": "succeeded",
                  "metadata": params.get("metadata") or {}}
        self.refunds.append(refund)
        return 200, refund

    def retrieve_session(self, session_id):
        session = self.sessions.get(session_id)
        if session is None:
            return stripe_error(404, "invalid_request_error", f"No such checkout.session: '{session_id}'",
                                "session")
        if session["status"] == "open" and self.now() >= session["expires_at"]:
            session.update(status="expired", url=None)
        return 200, session

    def handle(self, method, path, headers, body):
        params = decode_stripe_form(body)
        with self.lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "params": params})
            if headers.get("authorization") != f"Bearer {SECRET_KEY}":
                return stripe_error(401, "invalid_request_error", "Invalid API Key provided.")
            if method == "GET" and path.startswith("/v1/checkout/sessions/"):
                return self.retrieve_session(path.rsplit("/", 1)[1])
            if (method, path) == ("POST", "/v1/refunds"):
                return self.remember(headers.get("idempotency-key"), params, self.create_refund)
            if (method, path) != ("POST", "/v1/checkout/sessions"):
                return stripe_error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
            key = headers.get("idempotency-key")
            if key in self.replies:
                # "The idempotency layer compares incoming parameters to those of the original
                # request and errors if they're not the same."
                first_params, status, reply = self.replies[key]
                if first_params != params:
                    return stripe_error(400, "idempotency_error",
                                        "Keys for idempotent requests can only be used with the same "
                                        f"parameters they were first used with. Try using a key other "
                                        f"than '{key}' if you meant to execute a different request.")
                return status, reply
            status, reply = self.create_session(params)
            if key and status < 500:
                self.replies[key] = (params, status, reply)
            return status, reply

    @property
    def session_requests(self):
        return [r for r in self.requests if r["path"] == "/v1/checkout/sessions"]


@pytest.fixture
def fake_stripe():
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply = fake.handle(self.command, path, headers, body or query)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(7))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = serve_in_thread(server)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        server.server_close()


@pytest.fixture
def stripe_on(app, fake_stripe):
    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_API_BASE=fake_stripe.url)
    return fake_stripe


# --- mail ---------------------------------------------------------------------------------------

def payment_mails(mailbox, number):
    """The "payment received" mails for order ``number`` in the ``smtp`` fixture's mailbox, once
    the outbox worker has delivered what the webhook queued."""
    deliver_due()
    db.session.rollback()
    return [m for m in mailbox.messages if m["subject"] == f"Pembayaran pesanan {number} diterima"]


# --- the buyer's side -----------------------------------------------------------------------------


def _hidden(page, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match, f"no {name} field"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


def checkout_page(client, product, quantity):
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert 'action="/keranjang/tambah"' in page
    added = client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": quantity})
    assert added.status_code == 303
    response = client.get("/checkout")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def place(client, product, quantity=2, method="stripe"):
    """Cart -> checkout -> quote -> place; returns the response to "Place order"."""
    page = checkout_page(client, product, quantity)
    form = {"csrf_token": csrf_token(page), "idempotency_key": _hidden(page, "idempotency_key"),
            "payment_method": method, **ADDRESS}
    quoted = client.post("/checkout", data={**form, "action": "quote"}, follow_redirects=True)
    assert quoted.status_code == 200, quoted.status_code
    total = _hidden(quoted.get_data(as_text=True), "expected_total")
    return client.post("/checkout", data={**form, "expected_total": total, "action": "place"})


def _order(number):
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalars(select(Order).where(Order.number == number)).one()


def _stock(product_id):
    db.session.rollback()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def _timestamp(moment):
    """A stored time as a Unix timestamp (SQLite gives it back without its UTC zone)."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def _number(location):
    return urlsplit(location).path.split("/")[2]


def stripe_order(client, fake, stock=10, quantity=2):
    """A card order whose buyer has just been sent to the Checkout Session; returns its facts."""
    product = make_sellable_food(stock=stock, price_idr=85000, weight_grams=250)
    product_id = product.id
    placed = place(client, product, quantity)
    assert placed.status_code == 303 and "/bayar" in placed.headers["Location"], placed.headers.get("Location")
    paying = client.get(placed.headers["Location"])
    assert paying.status_code == 303, paying.status_code
    number = _number(placed.headers["Location"])
    session_id = _order(number).stripe_session_id
    assert session_id in fake.sessions
    return {"number": number, "product_id": product_id, "session": fake.sessions[session_id],
            "stock_after_order": stock - quantity, "redirect": paying.headers["Location"]}


# --- Stripe's side of webhooks ---------------------------------------------------------------------


def stripe_event(kind, session, **changes):
    """An event as Stripe sends it: a snapshot of the Checkout Session at that moment."""
    return {"id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2024-06-20",
            "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": kind,
            "data": {"object": {**session, **changes}}}


def completed(session, paid=True, fake=None):
    """``checkout.session.completed``; with ``fake``, Stripe's side records the payment too."""
    event = stripe_event("checkout.session.completed", session, status="complete",
                         payment_status="paid" if paid else "unpaid",
                         payment_intent="pi_" + secrets.token_hex(12))
    if fake is not None and paid:
        fake.paid[session["id"]] = event["data"]["object"]
    return event


def signature(payload, secret=WEBHOOK_SECRET, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def deliver(client, event, payload=None, **signing):
    payload = payload if payload is not None else json.dumps(event)
    return client.post("/stripe/webhook", data=payload.encode(), content_type="application/json",
                       headers={"Stripe-Signature": signature(payload, **signing)})


def _paid_events(order_number):
    order = _order(order_number)
    return db.session.scalar(select(func.count()).select_from(OrderEvent).where(
        OrderEvent.order_id == order.id, OrderEvent.to_status == "paid"))


def _stripe_event_rows(event_id=None):
    db.session.rollback()
    stmt = select(func.count()).select_from(StripeEvent)
    return db.session.scalar(stmt.where(StripeEvent.id == event_id) if event_id else stmt)


# --- tests: paying -------------------------------------------------------------------------------


def test_card_payment_is_offered_only_when_stripe_is_set_up(app, client, fake_stripe):
    product = make_sellable_food(stock=10, price_idr=85000)
    page = checkout_page(client, product, 1)
    assert 'value="stripe"' not in page and 'value="bank_transfer"' in page
    form = {"csrf_token": csrf_token(page), "idempotency_key": _hidden(page, "idempotency_key"),
            "payment_method": "stripe", "expected_total": "97000", **ADDRESS}
    for action in ("quote", "place"):  # a forged choice is refused
        refused = client.post("/checkout", data={**form, "action": action})
        assert refused.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_API_BASE=fake_stripe.url)
    assert 'value="stripe"' in client.get("/checkout").get_data(as_text=True)


def test_buyer_is_sent_to_a_checkout_session_for_exactly_this_order(app, client, stripe_on):
    fake = stripe_on
    product = make_sellable_food(stock=10, price_idr=85000, weight_grams=250)
    product_id, name = product.id, product.name
    before = int(time.time())

    placed = place(client, product, quantity=2)

    assert placed.status_code == 303
    pay_url = urlsplit(placed.headers["Location"])
    number = pay_url.path.split("/")[2]
    assert pay_url.path == f"/pesanan/{number}/bayar" and "kunci=" in pay_url.query
    order = _order(number)
    assert order.status == "awaiting_payment" and order.payment_method == "stripe"
    assert fake.requests == []  # nothing is sent to Stripe until the buyer goes to pay
    assert _stock(product_id) == 8  # held from the moment the order exists

    paying = client.get(placed.headers["Location"])

    assert paying.status_code == 303
    [sent] = fake.session_requests
    session = fake.sessions[_order(number).stripe_session_id]
    assert paying.headers["Location"] == session["url"]
    assert session["url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert sent["method"] == "POST" and sent["headers"]["authorization"] == f"Bearer {SECRET_KEY}"
    assert number in sent["headers"]["idempotency-key"]
    params = sent["params"]
    assert params["mode"] == "payment"
    goods, shipping = params["line_items"]
    assert goods["quantity"] == "2"
    assert goods["price_data"]["currency"] == "idr"
    assert goods["price_data"]["unit_amount"] == "8500000"  # Rp 85.000 in Stripe's hundredths
    assert name in goods["price_data"]["product_data"]["name"]
    order = _order(number)
    assert order.shipping_idr > 0
    assert shipping["quantity"] == "1" and shipping["price_data"]["currency"] == "idr"
    assert shipping["price_data"]["unit_amount"] == str(order.shipping_idr * 100)
    assert session["amount_total"] == order.total_idr * 100 == (2 * 85000 + order.shipping_idr) * 100
    assert params["metadata"] == {"order_number": number}
    assert params["client_reference_id"] == number and params["customer_email"] == ADDRESS["email"]
    assert before + 30 * 60 - 5 <= int(params["expires_at"]) <= before + 24 * 3600
    for url in (params["success_url"], params["cancel_url"]):
        back = urlsplit(url)
        assert back.path == f"/pesanan/{number}" and parse_qs(back.query)["kunci"]
    assert parse_qs(urlsplit(params["success_url"]).query)["stripe"] == ["success"]
    assert parse_qs(urlsplit(params["cancel_url"]).query)["stripe"] == ["cancel"]
    assert order.stripe_session_id == session["id"] and order.status == "awaiting_payment"
    assert _timestamp(order.expires_at) >= session["expires_at"]  # held while payable
    assert _stock(product_id) == 8

    # Back from Stripe before the webhook: the page says so, and nothing is paid yet.
    back = urlsplit(params["success_url"])
    page = client.get(f"{back.path}?{back.query}").get_data(as_text=True)
    assert html.unescape(page).count(indonesian(
        "Thank you. We are waiting for Stripe to confirm your payment; this page will show it once it arrives.")) == 1
    # Paying again a moment later goes to the same session, fetched back from Stripe.
    again = client.get(placed.headers["Location"])
    assert again.status_code == 303 and again.headers["Location"] == session["url"]
    assert len(fake.sessions) == 1 and len(fake.session_requests) == 1
    assert fake.requests[-1]["method"] == "GET" and fake.requests[-1]["path"] == f"/v1/checkout/sessions/{session['id']}"
    assert _stock(product_id) == 8


def test_stripe_down_keeps_the_order_and_its_stock(app, client, stripe_on):
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    product = make_sellable_food(stock=10, price_idr=85000)
    product_id = product.id
    placed = place(client, product, quantity=2)
    number = _number(placed.headers["Location"])

    paying = client.get(placed.headers["Location"])

    assert paying.status_code == 303
    back = urlsplit(paying.headers["Location"])
    assert back.path == f"/pesanan/{number}" and "checkout.stripe.com" not in paying.headers["Location"]
    order = _order(number)
    assert order.status == "awaiting_payment" and order.stripe_session_id is None
    assert _stock(product_id) == 8
    page = html.unescape(client.get(f"{back.path}?{back.query}").get_data(as_text=True))
    assert indonesian("The card payment service did not answer. Your order is kept and its stock "
                      "held; try again in a moment.") in page
    assert f"/pesanan/{number}/bayar" in page  # the pay button is still there
    assert stripe_on.requests == []

    app.config["STRIPE_API_BASE"] = stripe_on.url  # Stripe is back: paying works
    retry = client.get(placed.headers["Location"])
    assert retry.status_code == 303 and retry.headers["Location"].startswith("https://checkout.stripe.com/")
    assert _order(number).stripe_session_id in stripe_on.sessions


def test_paying_late_in_the_hold_still_gets_a_session(app, client, stripe_on, monkeypatch):
    from storefront.payments import stripe_gateway

    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{_free_port()}"  # down at first
    product = make_sellable_food(stock=10, price_idr=85000)
    placed = place(client, product, quantity=1)
    number = _number(placed.headers["Location"])
    assert client.get(placed.headers["Location"]).headers["Location"].startswith(f"/pesanan/{number}")

    app.config["STRIPE_API_BASE"] = stripe_on.url
    later = now_utc() + timedelta(minutes=20)  # 11 minutes of the 31-minute hold are left
    monkeypatch.setattr(stripe_gateway, "now_utc", lambda: later)
    stripe_on.offset = 20 * 60
    paying = client.get(placed.headers["Location"])

    assert paying.status_code == 303
    assert paying.headers["Location"].startswith("https://checkout.stripe.com/"), paying.headers["Location"]
    session = stripe_on.sessions[_order(number).stripe_session_id]
    # The stock stays held for as long as the buyer can still pay on Stripe's page.
    assert _timestamp(_order(number).expires_at) >= session["expires_at"]


def test_a_buyer_coming_back_to_pay_20_minutes_later_gets_the_open_session(app, client, stripe_on, monkeypatch):
    from storefront.payments import stripe_gateway

    order = stripe_order(client, stripe_on)
    later = now_utc() + timedelta(minutes=20)
    monkeypatch.setattr(stripe_gateway, "now_utc", lambda: later)
    stripe_on.offset = 20 * 60
    assert _order(order["number"]).status == "awaiting_payment"

    again = client.get(f"/pesanan/{order['number']}/bayar")

    assert again.status_code == 303
    assert again.headers["Location"] == order["session"]["url"], again.headers["Location"]


def test_a_signed_in_owner_paying_from_another_device_comes_back_to_the_order(app, client, stripe_on):
    user = make_user()
    sign_in(client, user)
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{_free_port()}"  # down while on the phone
    product = make_sellable_food(stock=10, price_idr=85000)
    placed = place(client, product, quantity=1)
    number = _number(placed.headers["Location"])
    assert client.get(placed.headers["Location"]).headers["Location"].startswith(f"/pesanan/{number}")
    app.config["STRIPE_API_BASE"] = stripe_on.url
    other_device = app.test_client()  # later, on the laptop, from the account's order list
    sign_in(other_device, user)
    order = {"number": number}

    paying = other_device.get(f"/pesanan/{order['number']}/bayar")

    assert paying.status_code == 303
    [sent] = stripe_on.session_requests
    for kind in ("success", "cancel"):
        back = urlsplit(sent["params"][f"{kind}_url"])
        assert back.path == f"/pesanan/{order['number']}", back
        assert parse_qs(back.query).get("stripe") == [kind]
        assert other_device.get(f"{back.path}?{back.query}").status_code == 200


# --- tests: webhooks -----------------------------------------------------------------------------


def test_a_signed_checkout_event_is_accepted(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    answer = deliver(client, completed(order["session"]))
    assert answer.status_code == 200, answer.status_code
    assert answer.get_json() == {"received": True, "result": "paid"}


def test_completed_delivered_three_times_among_other_events_pays_once(app, client, stripe_on, smtp):
    order = stripe_order(client, stripe_on)
    paid = completed(order["session"])
    others = [stripe_event("payment_intent.succeeded", {"id": paid["data"]["object"]["payment_intent"],
                                                         "object": "payment_intent", "metadata": {}}),
              stripe_event("charge.succeeded", {"id": "ch_" + secrets.token_hex(8), "object": "charge",
                                                "metadata": {}})]
    deliveries = [paid, paid, paid] + others
    random.Random(7).shuffle(deliveries)

    answers = [deliver(client, event) for event in deliveries]

    assert [a.status_code for a in answers] == [200] * 5
    results = [a.get_json()["result"] for a, e in zip(answers, deliveries) if e is paid]
    assert results == ["paid", "duplicate", "duplicate"]
    settled = _order(order["number"])
    assert settled.status == "paid" and settled.paid_at is not None and settled.hold_reason is None
    assert _paid_events(order["number"]) == 1
    assert _stripe_event_rows(paid["id"]) == 1 and _stripe_event_rows() == 3
    assert _stock(order["product_id"]) == order["stock_after_order"]  # payment does not touch stock
    [mail] = payment_mails(smtp, order["number"])
    assert mail["to"] == [ADDRESS["email"]] and order["number"] in mail["body"]
    page = html.unescape(client.get(f"/pesanan/{order['number']}").get_data(as_text=True))
    assert indonesian("paid, being prepared") in page  # the order's status, derived from its parcels


@pytest.fixture
def live(app):
    """The app on a real socket, for deliveries that arrive at the same moment."""
    with app_on_socket(app, join_seconds=TIMEOUT) as url:
        yield url


def deliver_at_once(live_url, events):
    """POST every event at the same moment, each on its own connection; returns the answers."""
    barrier = threading.Barrier(len(events), timeout=TIMEOUT)
    answers = [None] * len(events)

    def post(i):
        payload = json.dumps(events[i])
        headers = {"Stripe-Signature": signature(payload), "Content-Type": "application/json",
                   "Host": "shop.test"}  # the app's SERVER_NAME
        barrier.wait()
        answers[i] = requests.post(f"{live_url}/stripe/webhook", data=payload.encode(),
                                   headers=headers, timeout=TIMEOUT)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * TIMEOUT)
    assert all(a is not None for a in answers), "a delivery did not finish"
    return answers


def test_completed_delivered_three_times_at_once_pays_once(app, client, stripe_on, smtp, live):
    order = stripe_order(client, stripe_on)
    paid = completed(order["session"])

    answers = deliver_at_once(live, [paid, paid, paid])

    assert [a.status_code for a in answers] == [200, 200, 200], [a.text[:300] for a in answers]
    assert sorted(a.json()["result"] for a in answers) == ["duplicate", "duplicate", "paid"]
    assert _order(order["number"]).status == "paid"
    assert _paid_events(order["number"]) == 1
    assert _stripe_event_rows() == 1
    assert _stock(order["product_id"]) == order["stock_after_order"]
    assert len(payment_mails(smtp, order["number"])) == 1


@pytest.mark.parametrize("forgery", ["wrong secret", "tampered body", "old timestamp", "no signature"])
def test_a_badly_signed_event_changes_nothing(app, client, stripe_on, smtp, forgery):
    order = stripe_order(client, stripe_on)
    paid = completed(order["session"])
    payload = json.dumps(paid)
    if forgery == "wrong secret":
        answer = deliver(client, paid, secret="whsec_someone_else")
    elif forgery == "tampered body":
        # Signed for one order; the body then names another amount/number.
        tampered = payload.replace('"payment_status": "paid"', '"payment_status": "paid" ')
        assert tampered != payload
        answer = client.post("/stripe/webhook", data=tampered.encode(), content_type="application/json",
                             headers={"Stripe-Signature": signature(payload)})
    elif forgery == "old timestamp":
        answer = deliver(client, paid, timestamp=int(time.time()) - 301)
    else:
        answer = client.post("/stripe/webhook", data=payload.encode(), content_type="application/json")

    assert answer.status_code == 400
    assert _order(order["number"]).status == "awaiting_payment"
    assert _paid_events(order["number"]) == 0 and _stripe_event_rows() == 0
    assert payment_mails(smtp, order["number"]) == []


def test_expired_releases_the_stock_once_and_stays_expired(app, client, stripe_on, smtp):
    order = stripe_order(client, stripe_on)
    expired = stripe_event("checkout.session.expired", order["session"], status="expired")

    answers = [deliver(client, expired) for _ in range(3)]

    assert [a.get_json()["result"] for a in answers] == ["expired", "duplicate", "duplicate"]
    assert _order(order["number"]).status == "expired"
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2  # given back, once
    another = stripe_event("checkout.session.expired", order["session"], status="expired")
    assert deliver(client, another).get_json()["result"] == "already settled"
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2

    late = deliver(client, completed(order["session"]))  # does not bring it back

    assert late.status_code == 200 and late.get_json()["result"] != "paid"
    settled = _order(order["number"])
    assert settled.status == "expired" and settled.paid_at is None
    assert settled.hold_reason  # money for an ended order: the office refunds or re-reserves
    assert _paid_events(order["number"]) == 0
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2
    assert payment_mails(smtp, order["number"]) == []


def test_a_failed_asynchronous_payment_cancels_and_releases(app, client, stripe_on, smtp):
    order = stripe_order(client, stripe_on)
    waiting = completed(order["session"], paid=False)  # e.g. a bank transfer via Stripe
    assert deliver(client, waiting).get_json()["result"] == "awaiting asynchronous payment"
    assert _order(order["number"]).status == "awaiting_payment"
    assert _stock(order["product_id"]) == order["stock_after_order"]

    failed = stripe_event("checkout.session.async_payment_failed", order["session"],
                          status="complete", payment_status="unpaid")
    assert [deliver(client, failed).get_json()["result"] for _ in range(2)] == ["cancelled", "duplicate"]

    assert _order(order["number"]).status == "cancelled"
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2
    assert payment_mails(smtp, order["number"]) == []


def test_an_asynchronous_payment_that_succeeds_pays_the_order(app, client, stripe_on, smtp):
    order = stripe_order(client, stripe_on)
    waiting = completed(order["session"], paid=False)
    assert deliver(client, waiting).get_json()["result"] == "awaiting asynchronous payment"
    assert _order(order["number"]).status == "awaiting_payment" and _paid_events(order["number"]) == 0
    assert payment_mails(smtp, order["number"]) == []

    succeeded = stripe_event("checkout.session.async_payment_succeeded", order["session"],
                             status="complete", payment_status="paid")
    assert [deliver(client, succeeded).get_json()["result"] for _ in range(2)] == ["paid", "duplicate"]

    assert _order(order["number"]).status == "paid" and _paid_events(order["number"]) == 1
    assert _stock(order["product_id"]) == order["stock_after_order"]
    assert len(payment_mails(smtp, order["number"])) == 1


def test_papers_lapsing_while_the_buyer_pays_hold_the_paid_order_for_the_office(app, client, stripe_on, smtp):
    order = stripe_order(client, stripe_on)
    pirt = db.session.scalars(select(Certificate).where(
        Certificate.kind == "pirt", Certificate.products.any(Product.id == order["product_id"]))).one()
    pirt.status = "revoked"
    db.session.commit()

    answer = deliver(client, completed(order["session"]))

    assert answer.get_json()["result"] == "paid"
    settled = _order(order["number"])
    assert settled.status == "paid" and settled.hold_reason  # money taken: the office decides
    assert _paid_events(order["number"]) == 1
    page = html.unescape(client.get(f"/pesanan/{order['number']}").get_data(as_text=True))
    assert indonesian("The office is checking this order before it ships.") in page


def test_papers_still_valid_means_no_hold(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    deliver(client, completed(order["session"]))
    assert _order(order["number"]).hold_reason is None
    page = html.unescape(client.get(f"/pesanan/{order['number']}").get_data(as_text=True))
    assert indonesian("The office is checking this order before it ships.") not in page


def test_our_expiry_job_and_stripes_expiry_release_the_stock_once(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    after_hold = _order(order["number"]).expires_at + timedelta(minutes=1)
    assert expire_unpaid_orders(now=after_hold) == [order["number"]]
    db.session.commit()
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2

    expired = stripe_event("checkout.session.expired", order["session"], status="expired")
    assert deliver(client, expired).get_json()["result"] == "already settled"
    assert _order(order["number"]).status == "expired"
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2


@pytest.mark.parametrize("kind, status, stock_back, mails", [
    ("checkout.session.async_payment_succeeded", "paid", 0, 1),
    ("checkout.session.async_payment_failed", "cancelled", 2, 0),
    ("checkout.session.expired", "expired", 2, 0),
])
def test_each_event_kind_delivered_three_times_at_once_acts_once(app, client, stripe_on, smtp, live,
                                                                 kind, status, stock_back, mails):
    order = stripe_order(client, stripe_on)
    if kind.startswith("checkout.session.async"):
        assert deliver(client, completed(order["session"], paid=False)).status_code == 200
    event = stripe_event(kind, order["session"], status="expired" if kind.endswith("expired") else "complete",
                         payment_status="paid" if status == "paid" else "unpaid")

    answers = deliver_at_once(live, [event, event, event])

    assert [a.status_code for a in answers] == [200, 200, 200], [a.text[:300] for a in answers]
    assert sorted(a.json()["result"] for a in answers) == sorted(["duplicate", "duplicate", status])
    assert _order(order["number"]).status == status
    assert _stock(order["product_id"]) == order["stock_after_order"] + stock_back
    db.session.rollback()
    moves = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
        OrderEvent.order_id == _order(order["number"]).id, OrderEvent.to_status == status))
    assert moves == 1
    assert len(payment_mails(smtp, order["number"])) == mails


def test_the_expiry_of_a_session_the_buyer_never_saw_changes_nothing(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    # A create whose answer was lost: Stripe made a session we never stored, and it expires.
    orphan = {**order["session"], "id": "cs_test_" + secrets.token_hex(24)}

    answer = deliver(client, stripe_event("checkout.session.expired", orphan, status="expired"))

    assert answer.status_code == 200
    assert _order(order["number"]).status == "awaiting_payment"
    assert _stock(order["product_id"]) == order["stock_after_order"]
    # The buyer's own session still pays the order.
    assert deliver(client, completed(order["session"])).get_json()["result"] == "paid"


def test_a_card_order_is_held_for_the_sessions_30_minutes(app, client, stripe_on):
    before = int(time.time())
    order = stripe_order(client, stripe_on)

    # Stripe's shortest session (30 minutes, a minute's margin for clocks), and no longer.
    assert before + 30 * 60 < order["session"]["expires_at"] <= int(time.time()) + 31 * 60
    assert _timestamp(_order(order["number"]).expires_at) == order["session"]["expires_at"]


def test_paying_after_the_hold_ended_makes_no_session(app, client, stripe_on, monkeypatch):
    from storefront.payments import stripe_gateway

    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{_free_port()}"  # down while paying
    product = make_sellable_food(stock=10, price_idr=85000)
    placed = place(client, product, quantity=1)
    number = _number(placed.headers["Location"])
    client.get(placed.headers["Location"])
    app.config["STRIPE_API_BASE"] = stripe_on.url
    later = now_utc() + timedelta(minutes=32)
    monkeypatch.setattr(stripe_gateway, "now_utc", lambda: later)

    paying = client.get(placed.headers["Location"])

    assert paying.status_code == 303 and paying.headers["Location"].startswith(f"/pesanan/{number}")
    assert stripe_on.requests == [] and _order(number).stripe_session_id is None


def test_paying_again_after_the_session_closed_says_so(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    stripe_on.sessions[order["session"]["id"]].update(status="complete", payment_status="paid")

    again = client.get(f"/pesanan/{order['number']}/bayar", follow_redirects=True)

    assert again.status_code == 200
    assert indonesian("The time to pay this order by card has ended. If you paid, the payment is "
                      "being confirmed.") in html.unescape(again.get_data(as_text=True))
    assert len(stripe_on.sessions) == 1  # no second session for an order already paid


def _decline(app, order, reason="Stok rusak"):
    from storefront.orders.models import VillageOrder
    from storefront.villages.models import Village

    from .factories import make_user as _make_user

    parcel = db.session.scalars(select(VillageOrder).join(Order).where(Order.number == order["number"])).one()
    member = app.test_client()
    sign_in(member, _make_user("village_member", db.session.get(Village, parcel.village_id)))
    page = member.get(f"/portal/pesanan/{parcel.id}").get_data(as_text=True)
    answer = member.post(f"/portal/pesanan/{parcel.id}/status",
                         data={"csrf_token": csrf_token(page), "to_status": "declined", "reason": reason})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    db.session.expire_all()
    return db.session.get(VillageOrder, parcel.id)


def test_a_declined_card_parcel_is_refunded_through_stripe_once(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    assert deliver(client, completed(order["session"], fake=stripe_on)).get_json()["result"] == "paid"

    parcel = _decline(app, order)

    assert parcel.status == "declined" and parcel.refund_state == "refunded"
    [refund] = stripe_on.refunds
    assert refund["amount"] == (parcel.subtotal_idr + parcel.shipping_idr) * 100 == order["session"]["amount_total"]
    assert parcel.stripe_refund_id == refund["id"]
    [sent] = [r for r in stripe_on.requests if r["path"] == "/v1/refunds"]
    assert sent["headers"]["idempotency-key"] == f"refund-parcel-{parcel.id}"
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2
    page = html.unescape(client.get(f"/pesanan/{order['number']}").get_data(as_text=True))
    assert "Stok rusak" in page and indonesian("refunded to your card") in page


def test_a_refund_stripe_refuses_is_left_to_the_office(app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    deliver(client, completed(order["session"]))  # Stripe's side never saw this payment

    parcel = _decline(app, order)

    assert parcel.status == "declined" and parcel.refund_state == "refund_failed"
    assert _stock(order["product_id"]) == order["stock_after_order"] + 2
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    page = html.unescape(office.get("/kantor/pesanan").get_data(as_text=True))
    assert order["number"] in page and "Rp 182.000" in page  # 2 × 85.000 + 12.000 to return by hand


# --- tests: an event settles only the order it belongs to ------------------------------------------
#
# Every Checkout Session on the shop's Stripe account sends signed events to the same endpoint:
# Payment Links and any other Checkout, where a buyer can put any order number in
# ``client_reference_id`` (https://docs.stripe.com/payment-links/url-parameters). An event is
# applied only to the order whose own session it is, for a card order, for exactly its total in
# rupiah; anything else is kept, logged and shown to the office, and the order is left alone.


def bank_transfer_order(client, stock=10, quantity=2):
    """A bank-transfer order waiting for the office to see the money; returns its facts."""
    product = make_sellable_food(stock=stock, price_idr=85000, weight_grams=250)
    product_id = product.id
    placed = place(client, product, quantity, method="bank_transfer")
    assert placed.status_code == 303, placed.status_code
    number = _number(placed.headers["Location"])
    order = _order(number)
    assert order.payment_method == "bank_transfer" and order.stripe_session_id is None
    return {"number": number, "product_id": product_id, "stock_after_order": stock - quantity,
            "total_idr": order.total_idr}


def another_checkout(amount_total, number, how, **fields):
    """A paid Checkout Session the shop never made (here a Payment Link's) that carries order
    ``number`` in its metadata or its ``client_reference_id``."""
    session_id = "cs_test_" + secrets.token_hex(24)
    session = {
        "id": session_id, "object": "checkout.session", "mode": "payment", "status": "complete",
        "payment_status": "paid", "currency": "idr", "amount_subtotal": amount_total,
        "amount_total": amount_total, "created": int(time.time()), "expires_at": int(time.time()) + 86400,
        "client_reference_id": number if how == "client_reference_id" else None,
        "metadata": {"order_number": number} if how == "metadata" else {},
        "payment_link": "plink_" + secrets.token_hex(12), "payment_intent": "pi_" + secrets.token_hex(12),
        "customer_email": "someone@example.org", "livemode": False, "url": None,
    }
    return {**session, **fields}


def office_client(app):
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    return office


def office_page(office):
    answer = office.get("/kantor/pesanan")
    assert answer.status_code == 200
    return html.unescape(answer.get_data(as_text=True))


def _stored(event_id):
    db.session.rollback()
    return db.session.get(StripeEvent, event_id)


def assert_untouched(facts, status="awaiting_payment"):
    """The order the event named is as it was: status, payment, hold, stock, audit trail."""
    order = _order(facts["number"])
    assert order.status == status and order.paid_at is None
    assert order.hold_reason is None and order.stripe_payment_intent is None
    assert _paid_events(facts["number"]) == 0
    assert _stock(facts["product_id"]) == facts["stock_after_order"]


@pytest.mark.parametrize("how", ["metadata", "client_reference_id"])
def test_a_payment_from_another_checkout_never_pays_a_bank_transfer_order(app, client, stripe_on, smtp,
                                                                           caplog, monkeypatch, how):
    # Migrating in this process (conftest) disables loggers that existed before (fileConfig).
    monkeypatch.setattr(app.logger, "disabled", False)
    order = bank_transfer_order(client)
    # The right amount, even: only the session and the payment method are wrong.
    paid_elsewhere = completed(another_checkout(order["total_idr"] * 100, order["number"], how))

    with caplog.at_level(logging.WARNING):
        answer = deliver(client, paid_elsewhere)

    assert answer.status_code == 200  # kept: Stripe need not send it again
    assert answer.get_json()["result"] == "refused: not_card other_session"
    assert_untouched(order)
    assert payment_mails(smtp, order["number"]) == []
    stored = _stored(paid_elsewhere["id"])
    session = paid_elsewhere["data"]["object"]
    assert (stored.type, stored.session_id, stored.amount_total, stored.currency, stored.payment_status) == (
        "checkout.session.completed", session["id"], order["total_idr"] * 100, "idr", "paid")
    assert stored.order_id == _order(order["number"]).id and stored.refusal == "not_card other_session"
    [warning] = [r for r in caplog.records if r.levelname == "WARNING" and paid_elsewhere["id"] in r.getMessage()]
    assert order["number"] in warning.getMessage() and session["id"] in warning.getMessage()

    page = office_page(office_client(app))
    needs_office = page.split(indonesian("Awaiting payment"))[0]
    for shown in (order["number"], paid_elsewhere["id"], session["id"],
                  indonesian("card payment not applied: %(amount)s") % {"amount": format_idr(order["total_idr"])},
                  indonesian("The order is not paid by card."),
                  indonesian("The payment was made in another Stripe checkout, not the one made for this order.")):
        assert shown in needs_office, shown
    # The transfer itself can still be confirmed by the office as before.
    assert order["number"] in page.split(indonesian("Awaiting payment"))[1]


@pytest.mark.parametrize("how", ["metadata", "client_reference_id"])
def test_a_payment_from_another_checkout_never_pays_a_card_order(app, client, stripe_on, smtp, how):
    order = stripe_order(client, stripe_on)
    own = order["session"]
    paid_elsewhere = completed(another_checkout(own["amount_total"], order["number"], how))

    answer = deliver(client, paid_elsewhere)

    assert answer.get_json()["result"] == "refused: other_session"
    assert_untouched(order)
    assert payment_mails(smtp, order["number"]) == []
    office = office_client(app)
    page = office_page(office)
    assert paid_elsewhere["id"] in page and indonesian(
        "The payment was made in another Stripe checkout, not the one made for this order.") in page

    # The buyer's own session still pays the order, and only the refused payment is listed.
    paid_here = completed(own)
    assert deliver(client, paid_here).get_json()["result"] == "paid"
    assert _order(order["number"]).status == "paid" and _paid_events(order["number"]) == 1
    assert _stored(paid_here["id"]).refusal is None
    page = office_page(office)
    assert paid_elsewhere["id"] in page and paid_here["id"] not in page
    assert len(payment_mails(smtp, order["number"])) == 1


AMOUNT = "The amount paid is not the order's total."


@pytest.mark.parametrize("kind, change, reason, message", [
    ("checkout.session.completed", lambda own: {"amount_total": 100}, "amount", AMOUNT),
    ("checkout.session.completed", lambda own: {"amount_total": own["amount_total"] + 100}, "amount", AMOUNT),
    ("checkout.session.completed", lambda own: {"currency": "usd"}, "currency", "The payment is not in rupiah."),
    ("checkout.session.completed", lambda own: {"mode": "subscription"}, "not_payment",
     "The Stripe checkout is not a one-off payment."),
    ("checkout.session.async_payment_succeeded", lambda own: {"amount_total": 100}, "amount", AMOUNT),
], ids=["Rp 1", "Rp 1 more than the total", "in dollars", "a subscription", "asynchronous, Rp 1"])
def test_the_orders_own_session_with_another_amount_currency_or_mode_pays_nothing(
        app, client, stripe_on, smtp, kind, change, reason, message):
    order = stripe_order(client, stripe_on)
    session = {**order["session"], **change(order["session"])}
    if kind == "checkout.session.completed":
        event = completed(session)
    else:
        assert deliver(client, completed(order["session"], paid=False)).get_json()["result"] == \
            "awaiting asynchronous payment"
        event = stripe_event(kind, session, status="complete", payment_status="paid")

    answer = deliver(client, event)

    assert answer.status_code == 200 and answer.get_json()["result"] == f"refused: {reason}"
    assert_untouched(order)
    assert payment_mails(smtp, order["number"]) == []
    assert _stored(event["id"]).refusal == reason
    page = office_page(office_client(app))
    assert event["id"] in page and indonesian(message) in page


@pytest.mark.parametrize("kind", ["checkout.session.expired", "checkout.session.async_payment_failed"])
@pytest.mark.parametrize("target", ["bank transfer", "card"])
def test_the_end_of_another_checkout_never_ends_an_order(app, client, stripe_on, kind, target):
    if target == "card":
        order = stripe_order(client, stripe_on)
        amount, how = order["session"]["amount_total"], "metadata"
    else:
        order = bank_transfer_order(client)
        amount, how = order["total_idr"] * 100, "client_reference_id"
    ended = stripe_event(kind, another_checkout(amount, order["number"], how), payment_status="unpaid",
                         status="expired" if kind.endswith("expired") else "complete")

    answer = deliver(client, ended)

    assert answer.status_code == 200 and answer.get_json()["result"].startswith("refused: ")
    assert_untouched(order)
    assert _stored(ended["id"]).refusal
    # No money was taken: nothing for the office to do.
    assert ended["id"] not in office_page(office_client(app))


def test_the_office_marks_a_refused_payment_dealt_with(app, client, stripe_on):
    order = bank_transfer_order(client)
    paid_elsewhere = completed(another_checkout(1_000_000, order["number"], "client_reference_id"))
    deliver(client, paid_elsewhere)
    officer = make_user("verifier")
    audit_name = officer.audit_name
    office = app.test_client()
    sign_in(office, officer)
    page = office_page(office)
    assert "Rp 10.000" in page and paid_elsewhere["id"] in page
    settle = f"/kantor/pembayaran-kartu/{paid_elsewhere['id']}/selesai"

    done = office.post(settle, data={"csrf_token": csrf_token(page)}, follow_redirects=True)

    assert done.status_code == 200
    page = html.unescape(done.get_data(as_text=True))
    assert indonesian("The card payment is marked as dealt with.") in page
    assert paid_elsewhere["id"] not in page
    stored = _stored(paid_elsewhere["id"])
    assert stored.settled_at is not None and stored.settled_by == audit_name
    assert_untouched(order)
    again = office.post(settle, data={"csrf_token": csrf_token(page)})
    assert again.status_code == 404


def _charge_refunded(payment_intent, amount_idr, parcel_id=None):
    refund = {"id": "re_" + secrets.token_hex(8), "amount": amount_idr * 100,
              "metadata": {"parcel_id": str(parcel_id)} if parcel_id else {}}
    charge = {"id": "ch_" + secrets.token_hex(8), "object": "charge", "payment_intent": payment_intent,
              "amount_refunded": amount_idr * 100, "refunds": {"data": [refund]}}
    return stripe_event("charge.refunded", charge)


def test_a_whole_refund_made_in_stripes_dashboard_takes_the_money_back_from_the_village_once(
        app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    paid = completed(order["session"])
    assert deliver(client, paid).get_json()["result"] == "paid"
    row = _order(order["number"])
    (parcel,) = db.session.scalars(select(VillageOrder).where(VillageOrder.order_id == row.id)).all()
    assert balance(parcel.village_id)[0] == row.total_idr  # pending for the village

    event = _charge_refunded(paid["data"]["object"]["payment_intent"], row.total_idr)
    assert deliver(client, event).get_json()["result"] == "refund outside the shop: held for the office"
    assert deliver(client, _charge_refunded(paid["data"]["object"]["payment_intent"], row.total_idr)
                   ).status_code == 200
    db.session.expire_all()
    assert balance(parcel.village_id) == (0, 0)
    assert _order(order["number"]).hold_reason.startswith("The whole payment was refunded in Stripe")
    assert db.session.get(VillageOrder, parcel.id).refund_state == "refunded"


def test_a_part_refund_made_in_stripe_holds_the_order_and_the_shops_own_refunds_change_nothing(
        app, client, stripe_on):
    order = stripe_order(client, stripe_on)
    paid = completed(order["session"])
    deliver(client, paid)
    row = _order(order["number"])
    (parcel,) = db.session.scalars(select(VillageOrder).where(VillageOrder.order_id == row.id)).all()
    intent = paid["data"]["object"]["payment_intent"]
    own = deliver(client, _charge_refunded(intent, row.total_idr, parcel_id=parcel.id))
    assert own.get_json()["result"] == "refunds made by the shop: already booked"
    assert _order(order["number"]).hold_reason is None
    assert deliver(client, _charge_refunded(intent, 10_000)).status_code == 200
    db.session.expire_all()
    assert "Rp 10.000 was refunded in Stripe" in _order(order["number"]).hold_reason
    assert balance(parcel.village_id) == (row.total_idr, 0)  # the office decides which parcel
