"""Paying through Midtrans Snap (QRIS, virtual accounts, e-wallets) and its HTTP notifications.

Only Midtrans' servers are faked (``tests/fake_midtrans.py``: Snap, the status API and the refund
API on loopback, answering as Midtrans documents them); the app reaches them through Midtrans'
own client library. Notifications are signed as Midtrans signs them, and checked by the shop's
real code.
"""
import html
import json
import socket
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from storefront.clock import as_utc, now_utc
from storefront.extensions import db
from storefront.money import format_idr
from storefront.orders.models import Order, OrderEvent, OrderLine, VillageOrder
from storefront.outbox.worker import deliver_due
from storefront.payments import midtrans_gateway
from storefront.payments.methods import method_for
from storefront.payments.models import MidtransNotification, MidtransTransaction, PaymentReceived
from storefront.payments.settling import PaymentGatewayError, SessionClosed
from storefront.products.models import Product
from storefront.unit_of_work import unit_of_work

from .conftest import csrf_token
from .factories import make_certified_village, make_order, make_sellable_food, make_user, parcels_of, sign_in
from .fake_midtrans import SERVER_KEY, FakeMidtrans, serve, sign
from .local_http import app_on_socket
from .test_stripe import ADDRESS, _hidden, _number, checkout_page, indonesian, place

TIMEOUT = 30
HOLD_MINUTES = 180
NOTIFY = "/midtrans/notification"


@pytest.fixture
def fake_midtrans():
    fake = FakeMidtrans()
    server, thread = serve(fake)
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        server.server_close()


@pytest.fixture
def midtrans_on(app, fake_midtrans):
    app.config.update(MIDTRANS_SERVER_KEY=SERVER_KEY, MIDTRANS_API_BASE=fake_midtrans.url,
                      MIDTRANS_SNAP_BASE=fake_midtrans.url + "/snap/v1", MIDTRANS_TIMEOUT=5,
                      MIDTRANS_ENABLED_PAYMENTS=["other_qris", "gopay", "shopeepay", "bca_va", "bni_va"],
                      MIDTRANS_EXPIRY_MINUTES=HOLD_MINUTES)
    return fake_midtrans


# --- helpers -------------------------------------------------------------------------------------

def midtrans_order(stock=10, quantity=2, name=None, villages=1):
    """An unpaid Midtrans order written straight to the tables (its stock taken as checkout does)."""
    parts = {}
    for _ in range(villages):
        village = make_certified_village()
        product = make_sellable_food(village, stock=stock, price_idr=85000, **({"name": name} if name else {}))
        product.stock -= quantity
        parts[village] = [(product, quantity)]
    db.session.commit()
    order = make_order(parts, payment_method="midtrans", paid=False,
                       expires_at=now_utc() + timedelta(minutes=HOLD_MINUTES))
    return order.id


def _order(order_id):
    db.session.expire_all()
    return db.session.get(Order, order_id)


def start_payment(order_id):
    """What the order page's pay button does: the address of the order's Snap page."""
    order = _order(order_id)
    lines = db.session.scalars(select(OrderLine).join(VillageOrder).where(VillageOrder.order_id == order.id)
                               .order_by(OrderLine.id)).all()
    with unit_of_work():
        return method_for("midtrans").start(
            order, lines, back=lambda **query: f"http://shop.test/pesanan/{order.number}?{urlencode(query)}")


def paying_order(fake, **kwargs):
    """An order whose buyer has been sent to its Snap page; ``(order id, number)``."""
    order_id = midtrans_order(**kwargs)
    start_payment(order_id)
    return order_id, _order(order_id).number


def notify(client, body):
    return client.post(NOTIFY, data=json.dumps(body), content_type="application/json")


def result(client, body):
    answer = notify(client, body)
    assert answer.status_code == 200, (answer.status_code, answer.get_data(as_text=True))
    return answer.get_json()["result"]


def _count(model, *where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _payments(order_id):
    db.session.expire_all()
    return db.session.scalars(select(PaymentReceived).where(PaymentReceived.order_id == order_id)).all()


def _paid_events(order_id):
    return _count(OrderEvent, OrderEvent.order_id == order_id, OrderEvent.to_status == "paid")


def _stock(order_id):
    db.session.expire_all()
    return db.session.scalar(select(func.sum(Product.stock)).join(OrderLine, OrderLine.product_id == Product.id)
                             .join(VillageOrder).where(VillageOrder.order_id == order_id))


# --- the payment page ------------------------------------------------------------------------------

def test_snap_gets_the_order_number_exact_total_items_buyer_channels_and_the_hold(app, midtrans_on):
    long_name = "Kopi Arabika Flores Bajawa Premium Grade Satu, Sangrai Sedang, 250 gram"
    order_id = midtrans_order(quantity=2, name=long_name, villages=2)
    order = _order(order_id)

    url = start_payment(order_id)

    [sent] = midtrans_on.snap_requests
    params = sent["body"]
    assert sent["headers"]["authorization"].startswith("Basic ")
    assert url == midtrans_on.snaps[order.number]["redirect_url"]
    assert params["transaction_details"] == {"order_id": order.number, "gross_amount": order.total_idr}
    items = params["item_details"]
    assert sum(i["price"] * i["quantity"] for i in items) == order.total_idr == 2 * 2 * 85000 + order.shipping_idr
    assert all(len(i["name"]) <= 50 for i in items) and items[0]["name"].startswith("Kopi Arabika Flores")
    assert [i["quantity"] for i in items] == [2, 2, 1] and items[-1]["price"] == order.shipping_idr
    assert params["customer_details"]["email"] == order.email
    assert params["customer_details"]["shipping_address"]["postal_code"] == order.postal_code
    assert params["enabled_payments"] == ["other_qris", "gopay", "shopeepay", "bca_va", "bni_va"]
    expiry = params["expiry"]
    start = datetime.strptime(expiry["start_time"], "%Y-%m-%d %H:%M:%S %z")
    assert abs((start - as_utc(order.created_at)).total_seconds()) < 2 and expiry["start_time"].endswith("+0700")
    assert expiry["unit"] == "minute" and expiry["duration"] == HOLD_MINUTES
    # Midtrans' payment ends as the stock hold ends (to the second), never after it.
    assert 0 <= (as_utc(order.expires_at) - (start + timedelta(minutes=HOLD_MINUTES))).total_seconds() < 1
    assert parse_qs(urlsplit(params["callbacks"]["finish"]).query) == {"midtrans": ["selesai"]}
    stored = db.session.scalars(select(MidtransTransaction)).one()
    assert stored.order_id == order_id and stored.redirect_url == url
    assert as_utc(stored.expires_at) <= as_utc(order.expires_at)

    # The buyer comes back to pay: the same page, no second transaction.
    assert start_payment(order_id) == url
    assert len(midtrans_on.snap_requests) == 1 and _count(MidtransTransaction) == 1


def test_a_lapsed_page_or_hold_makes_no_new_transaction(app, midtrans_on, monkeypatch):
    order_id, number = paying_order(midtrans_on)
    later = now_utc() + timedelta(minutes=HOLD_MINUTES + 1)
    monkeypatch.setattr(midtrans_gateway, "now_utc", lambda: later)
    with pytest.raises(SessionClosed):
        start_payment(order_id)
    fresh = midtrans_order()
    with pytest.raises(SessionClosed):  # its hold has ended before the buyer went to pay
        start_payment(fresh)
    assert len(midtrans_on.snap_requests) == 1


def test_a_hanging_midtrans_does_not_hold_the_worker(app, midtrans_on):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        app.config.update(MIDTRANS_SNAP_BASE=f"http://127.0.0.1:{listener.getsockname()[1]}/snap/v1",
                          MIDTRANS_TIMEOUT=0.3)
        order_id = midtrans_order()
        started = time.monotonic()
        with pytest.raises(PaymentGatewayError):
            start_payment(order_id)
        assert time.monotonic() - started < 3
    finally:
        listener.close()
    assert _count(MidtransTransaction) == 0 and _order(order_id).status == "awaiting_payment"


# --- signatures and junk ---------------------------------------------------------------------------

def test_only_a_notification_signed_with_the_server_key_is_read(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    good = midtrans_on.pay(number)
    forged = {**good, "signature_key": sign(number, good["status_code"], good["gross_amount"], "SB-Mid-server-other")}
    tampered = {**good, "gross_amount": "1.00"}  # signed for another amount
    missing = [{k: v for k, v in good.items() if k != name} for name in
               ("signature_key", "order_id", "status_code", "gross_amount", "transaction_status")]
    junk = [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", json.dumps({**good, "order_id": 12}).encode(),
            json.dumps({**good, "signature_key": "é" * 128}).encode(),
            json.dumps({**good, "gross_amount": None}).encode(), json.dumps({**good, "order_id": "x" * 5000}).encode()]

    for body in [forged, tampered] + missing:
        assert notify(client, body).status_code == 400, body
    for raw in junk:
        answer = client.post(NOTIFY, data=raw, content_type="application/json")
        assert answer.status_code == 400, raw
    assert client.get(NOTIFY).status_code == 405
    assert _order(order_id).status == "awaiting_payment" and _count(MidtransNotification) == 0
    assert midtrans_on.status_requests == []  # nothing unsigned reaches Midtrans

    assert result(client, good) == "paid"
    app.config["MIDTRANS_SERVER_KEY"] = None
    assert notify(client, good).status_code == 404  # Midtrans is not configured


def test_signed_notifications_for_strange_orders_never_fail(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    body = midtrans_on.pay(number)
    for other in ("NTT-000000-NOPE", "../../v2/x", "x" * 200, "NTT-261203-0001/../../refund"):
        signed = {**body, "order_id": other, "signature_key": sign(other, body["status_code"], body["gross_amount"])}
        answer = notify(client, signed)
        assert answer.status_code == 200 and answer.get_json()["result"] == "no matching order"
    assert midtrans_on.status_requests == [] and _count(MidtransNotification) == 0

    midtrans_on.down = True  # the status API does not answer: not acknowledged, Midtrans retries
    assert notify(client, body).status_code == 503
    assert _order(order_id).status == "awaiting_payment"
    midtrans_on.down = False
    assert result(client, body) == "paid"


# --- the status API decides ------------------------------------------------------------------------

def test_the_status_api_overrides_a_signed_but_untrue_notification(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    pending = midtrans_on.pay(number, payment_type="bca_va", status="pending")
    # The signature covers neither the status nor the transaction: a replay saying "settlement".
    claimed = {**pending, "transaction_status": "settlement"}

    assert result(client, claimed) == "awaiting payment"

    assert _order(order_id).status == "awaiting_payment" and _payments(order_id) == []
    assert len(midtrans_on.status_requests) == 1
    assert midtrans_on.status_requests[0]["path"] == f"/v2/{number}/status"


@pytest.mark.parametrize("status, fraud, order_status, answer", [
    ("settlement", None, "paid", "paid"),
    ("capture", "accept", "paid", "paid"),
    ("capture", "challenge", "awaiting_payment", "awaiting Midtrans' fraud review"),
    ("pending", None, "awaiting_payment", "awaiting payment"),
    ("deny", None, "cancelled", "cancelled"),
    ("cancel", None, "cancelled", "cancelled"),
    ("failure", None, "cancelled", "cancelled"),
    ("expire", None, "expired", "expired"),
])
def test_each_status_moves_the_order_as_midtrans_confirms_it(app, client, midtrans_on, status, fraud,
                                                              order_status, answer):
    order_id, number = paying_order(midtrans_on)
    stock = _stock(order_id)
    body = midtrans_on.pay(number, payment_type="credit_card" if status == "capture" else "gopay",
                           status=status, fraud_status=fraud)

    assert result(client, body) == answer

    order = _order(order_id)
    assert order.status == order_status
    payments = _payments(order_id)
    if order_status == "paid":
        [payment] = payments
        assert (payment.method, payment.amount_idr) == ("midtrans", order.total_idr)
        assert payment.reference == midtrans_on.transactions[number]["transaction_id"]
        assert order.hold_reason is None and _paid_events(order_id) == 1
    else:
        assert payments == []
    assert _stock(order_id) == stock + (2 if order_status in ("cancelled", "expired") else 0)


def test_the_same_notification_three_times_pays_once(app, client, midtrans_on, smtp):
    order_id, number = paying_order(midtrans_on)
    body = midtrans_on.pay(number)

    assert [result(client, body) for _ in range(3)] == ["paid", "duplicate", "duplicate"]

    assert _paid_events(order_id) == 1 and len(_payments(order_id)) == 1
    assert _count(MidtransNotification) == 1


@pytest.fixture
def live(app):
    with app_on_socket(app, join_seconds=TIMEOUT) as url:
        yield url


def test_notifications_at_the_same_moment_pay_once(app, client, midtrans_on, live):
    order_id, number = paying_order(midtrans_on)
    settled = midtrans_on.pay(number)
    late_pending = {**settled, "transaction_status": "pending"}  # an older notification, arriving now
    bodies = [settled, settled, settled, late_pending]
    barrier = threading.Barrier(len(bodies), timeout=TIMEOUT)
    answers = [None] * len(bodies)

    def post(i):
        barrier.wait()
        answers[i] = requests.post(f"{live}{NOTIFY}", data=json.dumps(bodies[i]), timeout=TIMEOUT,
                                   headers={"Content-Type": "application/json", "Host": "shop.test"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * TIMEOUT)

    assert [a.status_code for a in answers] == [200] * 4, [a.text[:200] for a in answers]
    assert sorted(a.json()["result"] for a in answers) == ["duplicate"] * 3 + ["paid"]
    assert _order(order_id).status == "paid" and _paid_events(order_id) == 1
    assert len(_payments(order_id)) == 1 and _count(MidtransNotification) == 1


def test_a_late_pending_or_expire_after_settlement_keeps_the_order_paid(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    pending = midtrans_on.pay(number, payment_type="bni_va", status="pending")
    settled = midtrans_on.set_status(number, "settlement")

    assert result(client, settled) == "paid"
    assert result(client, pending) == "duplicate"  # Midtrans says settlement: applied already
    assert _order(order_id).status == "paid" and len(_payments(order_id)) == 1

    assert result(client, midtrans_on.pay(number, status="expire")) == "already settled"
    assert _order(order_id).status == "paid" and _stock(order_id) == 8


def test_money_for_an_order_that_ended_is_held_for_the_office(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    assert result(client, midtrans_on.pay(number, status="expire")) == "expired"

    assert result(client, midtrans_on.pay(number)) == "paid after the order ended: held for the office"

    order = _order(order_id)
    assert order.status == "expired" and order.hold_reason and _paid_events(order_id) == 0
    assert [p.amount_idr for p in _payments(order_id)] == [order.total_idr]  # the office refunds it


# --- binding: the order's own transaction and amount -----------------------------------------------

def office_client(app):
    officer = make_user("verifier")
    office = app.test_client()
    sign_in(office, officer)
    return office, officer.audit_name


def test_another_amount_or_an_order_not_paid_by_midtrans_is_kept_for_the_office(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    less = midtrans_on.pay(number, gross_amount=10_000)  # e.g. a payment link made by hand for the number
    village = make_certified_village()
    product = make_sellable_food(village, stock=5)
    transfer = make_order({village: [(product, 1)]}, payment_method="bank_transfer", paid=False)
    midtrans_on.snaps[transfer.number] = {"params": {"transaction_details": {"gross_amount": transfer.total_idr}}}
    elsewhere = midtrans_on.pay(transfer.number)

    assert result(client, less) == "refused: amount"
    assert result(client, elsewhere) == "refused: not_midtrans no_transaction"
    assert result(client, elsewhere) == "duplicate"

    assert _order(order_id).status == "awaiting_payment" and _payments(order_id) == []
    assert _order(transfer.id).status == "awaiting_payment" and _payments(transfer.id) == []
    office, audit_name = office_client(app)
    page = html.unescape(office.get("/kantor/pesanan").get_data(as_text=True))
    assert indonesian("The amount paid is not the order's total.") in page
    assert indonesian("The order is not paid through Midtrans.") in page
    assert "Rp 10.000" in page and number in page and transfer.number in page
    [first, second] = db.session.scalars(select(MidtransNotification).order_by(MidtransNotification.id)).all()
    settle = f"/kantor/pembayaran-midtrans/{first.id}/selesai"

    done = office.post(settle, data={"csrf_token": csrf_token(page)}, follow_redirects=True)

    assert done.status_code == 200
    page = html.unescape(done.get_data(as_text=True))
    assert indonesian("The payment is marked as dealt with.") in page
    assert "Rp 10.000" not in page and transfer.number in page
    db.session.expire_all()
    assert db.session.get(MidtransNotification, first.id).settled_by == audit_name
    assert office.post(settle, data={"csrf_token": csrf_token(page)}).status_code == 404


def test_a_second_transaction_for_the_same_order_is_refused(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    assert result(client, midtrans_on.pay(number, payment_type="bca_va", status="pending")) == "awaiting payment"
    midtrans_on.transactions[number]["transaction_id"] = "another-transaction"

    assert result(client, midtrans_on.set_status(number, "settlement")) == "refused: other_transaction"
    assert _order(order_id).status == "awaiting_payment" and _payments(order_id) == []


# --- refunds ------------------------------------------------------------------------------------------

def _cancel_by_office(app, parcel_id):
    office, _name = office_client(app)
    page = office.get("/kantor/pesanan").get_data(as_text=True)
    answer = office.post(f"/kantor/paket/{parcel_id}/status",
                         data={"csrf_token": csrf_token(page), "to_status": "cancelled", "reason": "Stok rusak"})
    assert answer.status_code == 303
    db.session.expire_all()
    return db.session.get(VillageOrder, parcel_id)


@pytest.mark.parametrize("payment_type, state", [("qris", "refunded"), ("gopay", "refunded"),
                                                 ("bca_va", "office")])
def test_a_cancelled_parcel_is_refunded_through_midtrans_where_the_method_allows(
        app, client, midtrans_on, smtp, payment_type, state):
    order_id, number = paying_order(midtrans_on, villages=2)
    assert result(client, midtrans_on.pay(number, payment_type=payment_type)) == "paid"
    first, second = parcels_of(_order(order_id))

    parcel = _cancel_by_office(app, first.id)

    assert parcel.status == "cancelled" and parcel.refund_state == state
    refunds = [r for r in midtrans_on.requests if r["path"] == f"/v2/{number}/refund"]
    if state == "refunded":
        [sent] = refunds
        assert sent["body"]["refund_key"] == f"refund-parcel-{first.id}" == parcel.stripe_refund_id
        assert sent["body"]["amount"] == first.subtotal_idr + first.shipping_idr
        # Midtrans tells of the refund the shop made: already booked, nothing more.
        assert result(client, midtrans_on.notification(number)) == "refunds made by the shop: already booked"
        assert _order(order_id).hold_reason is None
        deliver_due()
        told = indonesian("The %(amount)s paid for this parcel is refunded to the e-wallet, QRIS app or card you "
                          "paid with. It may take a few days to arrive.") % {
            "amount": format_idr(first.subtotal_idr + first.shipping_idr)}
        assert any(told in " ".join(m["body"].split()) for m in smtp.messages), [m["subject"] for m in smtp.messages]
    else:
        assert refunds == [] and parcel.stripe_refund_id is None
    assert db.session.get(VillageOrder, second.id).refund_state is None


def test_refunds_made_in_midtrans_dashboard_take_the_money_back_and_hold_the_order(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on, villages=2)
    assert result(client, midtrans_on.pay(number, payment_type="shopeepay")) == "paid"
    total = _order(order_id).total_idr

    partial = midtrans_on.refund_in_dashboard(number, 10_000)
    assert result(client, partial) == "refund outside the shop: held for the office"
    assert "Rp 10.000 was refunded in Midtrans" in _order(order_id).hold_reason
    assert all(p.refund_state is None for p in parcels_of(_order(order_id)))

    whole = midtrans_on.refund_in_dashboard(number, total - 10_000)
    assert result(client, whole) == "refund outside the shop: held for the office"
    assert result(client, whole) == "duplicate"
    assert _order(order_id).hold_reason.startswith("The whole payment was refunded in Midtrans")
    assert [p.refund_state for p in parcels_of(_order(order_id))] == ["refunded", "refunded"]


# --- the buyer -----------------------------------------------------------------------------------------

def test_the_buyer_cannot_cancel_while_a_virtual_account_payment_is_pending(app, client, midtrans_on):
    order_id, number = paying_order(midtrans_on)
    assert result(client, midtrans_on.pay(number, payment_type="bca_va", status="pending")) == "awaiting payment"
    from storefront.payments.reconcile import PaymentError
    from storefront.payments.unpaid import cancel_unpaid_by_buyer

    with pytest.raises(PaymentError, match="Midtrans"):
        with unit_of_work():
            cancel_unpaid_by_buyer(order_id, "buyer")
    assert _order(order_id).status == "awaiting_payment"


# --- the checkout journey ------------------------------------------------------------------------------

def test_a_buyer_checks_out_and_pays_through_midtrans(app, client, midtrans_on, smtp):
    product = make_sellable_food(stock=10, price_idr=85000, weight_grams=250)
    product_id = product.id
    page = html.unescape(checkout_page(client, product, 1))
    assert 'value="midtrans"' in page and indonesian("QRIS, virtual account or e-wallet (Midtrans)") in page

    placed = place(client, product, quantity=1, method="midtrans")

    assert placed.status_code == 303 and "/bayar" in placed.headers["Location"], placed.headers.get("Location")
    number = _number(placed.headers["Location"])
    order = db.session.scalars(select(Order).where(Order.number == number)).one()
    assert order.payment_method == "midtrans" and order.status == "awaiting_payment"
    held = (as_utc(order.expires_at) - as_utc(order.created_at)).total_seconds() / 60
    assert abs(held - HOLD_MINUTES) < 1
    db.session.expire_all()
    assert db.session.get(Product, product_id).stock == 8  # 1 in the cart at first, +1 by place()
    paying = client.get(placed.headers["Location"])
    assert paying.status_code == 303
    snap = midtrans_on.snaps[number]
    assert paying.headers["Location"] == snap["redirect_url"]
    assert snap["params"]["transaction_details"]["gross_amount"] == order.total_idr
    finish = urlsplit(snap["params"]["callbacks"]["finish"])
    assert finish.path == f"/pesanan/{number}" and parse_qs(finish.query)["midtrans"] == ["selesai"]

    # Midtrans sends the buyer back with its own query added; the payment is not confirmed yet.
    back = client.get(f"{finish.path}?{finish.query}&order_id={number}&status_code=201&transaction_status=pending")
    page = html.unescape(back.get_data(as_text=True))
    assert back.status_code == 200
    assert indonesian("Thank you. We are waiting for Midtrans to confirm your payment; this page will show it "
                      "once it arrives.") in page
    assert indonesian("Pay with QRIS, virtual account or e-wallet") in page and f"/pesanan/{number}/bayar" in page
    again = client.get(f"/pesanan/{number}/bayar")
    assert again.headers["Location"] == snap["redirect_url"] and len(midtrans_on.snap_requests) == 1

    assert result(client, midtrans_on.pay(number, payment_type="gopay")) == "paid"

    page = html.unescape(client.get(f"/pesanan/{number}").get_data(as_text=True))
    assert indonesian("paid, being prepared") in page
    assert f"/pesanan/{number}/bayar" not in page
    assert client.get(f"/pesanan/{number}/bayar").headers["Location"].startswith(f"/pesanan/{number}")


def test_midtrans_is_offered_only_when_set_up_and_a_down_gateway_keeps_the_order(app, client, fake_midtrans):
    product = make_sellable_food(stock=10, price_idr=85000)
    page = checkout_page(client, product, 1)
    assert 'value="midtrans"' not in page
    form = {"csrf_token": csrf_token(page), "idempotency_key": _hidden(page, "idempotency_key"),
            "payment_method": "midtrans", "expected_total": "97000", **ADDRESS}
    assert client.post("/checkout", data={**form, "action": "place"}).status_code == 422
    assert _count(Order) == 0

    app.config.update(MIDTRANS_SERVER_KEY=SERVER_KEY, MIDTRANS_API_BASE=fake_midtrans.url,
                      MIDTRANS_SNAP_BASE=fake_midtrans.url + "/snap/v1")
    fake_midtrans.down = True
    placed = place(client, product, quantity=1, method="midtrans")
    number = _number(placed.headers["Location"])
    paying = client.get(placed.headers["Location"])
    assert urlsplit(paying.headers["Location"]).path == f"/pesanan/{number}"
    page = html.unescape(client.get(paying.headers["Location"]).get_data(as_text=True))
    assert indonesian("The payment service did not answer. Your order is kept and its stock held; "
                      "try again in a moment.") in page
    assert _count(MidtransTransaction) == 0
    fake_midtrans.down = False
    assert client.get(placed.headers["Location"]).headers["Location"].startswith("https://app.sandbox.midtrans.com/")
