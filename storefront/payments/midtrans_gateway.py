"""Midtrans Snap (QRIS, bank virtual accounts, e-wallets on Midtrans' hosted page) and its HTTP
notifications, through Midtrans' own Python client.

Enabled by MIDTRANS_SERVER_KEY. One Snap transaction per order, its ``order_id`` the order's
number and its gross amount the order's total in whole rupiah; it expires when the order's stock
hold ends, and a buyer who comes back to pay is sent to the same page while it lasts.

A notification is only a signal. Its ``signature_key`` (SHA-512 of order id, status code, gross
amount and the server key) proves Midtrans sent it, but covers neither the status nor the
transaction, so the shop asks Midtrans' status API and acts on that answer alone, bound to the
order's own transaction, number and exact total (``refusals_for``). Each confirmed status is
recorded once (``MidtransNotification.key``) and every move is conditional, so notifications that
arrive twice, together, late or out of order change an order once.
"""
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import timedelta, timezone
from decimal import Decimal, InvalidOperation

import midtransclient
import requests
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..clock import as_utc, now_utc
from ..extensions import db
from ..orders.models import Order
from ..orders.services import cancel_unpaid_order, expire_order
from .models import MIDTRANS_NEEDS_OFFICE, MidtransNotification, MidtransTransaction
from .reconcile import record_gateway_payment
from .settling import SETTLED, PaymentGatewayError, SessionClosed, refunded_outside, settle_payment

#: The name Midtrans gives its side in the orders' history and the office's notes.
ACTOR = "Midtrans"
#: Midtrans' own time zone (WIB): Snap's ``expiry.start_time`` is written in it.
WIB = timezone(timedelta(hours=7))
#: Snap refuses item names longer than this.
ITEM_NAME_LIMIT = 50
#: Payment types Midtrans' refund API can give money back to; the rest (bank virtual accounts,
#: Mandiri bill payment, convenience stores) are returned by the office by hand.
REFUNDABLE = frozenset({"credit_card", "gopay", "shopeepay", "qris", "dana", "ovo", "kredivo", "akulaku"})
#: The refund key of a parcel's refund (allowed characters: letters, digits, ``-`` and ``_``).
REFUND_KEY = "refund-parcel-{}"
SHOPS_REFUND = re.compile(r"refund-parcel-\d+")
#: Statuses that end an unpaid order (``capture`` with a denied fraud check is one too).
FAILED = ("deny", "cancel", "failure")
REFUNDED = ("refund", "partial_refund")
#: An amount of this many digits or more (a trillion rupiah) is no order's: it is not read as one.
MAX_DIGITS = 12
#: Why a notification was not applied to the order it named, for the office.
REFUSALS = {
    "not_midtrans": _l("The order is not paid through Midtrans."),
    "no_transaction": _l("The shop made no Midtrans payment page for this order."),
    "other_order": _l("Midtrans reports the payment for another order number."),
    "other_transaction": _l("The payment is another Midtrans transaction, not the one made for this order."),
    "currency": _l("The payment is not in rupiah."),
    "amount": _l("The amount paid is not the order's total."),
}
#: The fields of a notification the signature is made of, with the two the shop needs besides.
SIGNED = ("order_id", "status_code", "gross_amount")
REQUIRED = SIGNED + ("signature_key", "transaction_status", "transaction_id")


class NotificationError(ValueError):
    """Not a notification from Midtrans: unreadable, incomplete, or wrongly signed."""


class StatusUnavailable(PaymentGatewayError):
    """Midtrans' status API did not answer: the notification is not acknowledged, Midtrans sends it again."""


def midtrans_enabled():
    return bool(current_app.config.get("MIDTRANS_SERVER_KEY"))


class _TimedRequests:
    """``requests`` with a timeout on every call: the client library sets none, and a gateway
    that hangs must not hold a web worker."""

    def __init__(self, timeout):
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return requests.request(method, url, **kwargs)


#: What a failed call to Midtrans can raise through its client.
CALL_ERRORS = (midtransclient.MidtransAPIError, midtransclient.JSONDecodeError, requests.RequestException,
               ValueError, KeyError, TypeError)


def _client():
    """Midtrans' Snap client (it reaches the Core API too: status, refund), with the addresses the
    settings name (tests, local trials) and a timeout."""
    cfg = current_app.config
    snap = midtransclient.Snap(is_production=bool(cfg.get("MIDTRANS_PRODUCTION")),
                               server_key=cfg["MIDTRANS_SERVER_KEY"], custom_headers={}, proxies={})
    api = snap.api_config
    # The base addresses are class attributes: set on this instance only.
    if cfg.get("MIDTRANS_API_BASE"):
        api.CORE_SANDBOX_BASE_URL = api.CORE_PRODUCTION_BASE_URL = cfg["MIDTRANS_API_BASE"].rstrip("/")
    if cfg.get("MIDTRANS_SNAP_BASE"):
        api.SNAP_SANDBOX_BASE_URL = api.SNAP_PRODUCTION_BASE_URL = cfg["MIDTRANS_SNAP_BASE"].rstrip("/")
    snap.http_client.http_client = _TimedRequests(cfg.get("MIDTRANS_TIMEOUT", 10))
    return snap


# --- the payment page ------------------------------------------------------------------------------

def transaction_of(order_id):
    return db.session.scalars(select(MidtransTransaction).where(MidtransTransaction.order_id == order_id)
                              ).one_or_none()


def payment_page_for(order, lines, finish_url):
    """The address of the order's Snap page: the one made before while it lasts, else a new one.

    Raises SessionClosed when the earlier one expired or the order's hold has ended,
    PaymentGatewayError when Midtrans cannot be reached or refuses."""
    # Locked (PostgreSQL), so that two "Pay" clicks at once make one transaction.
    db.session.scalars(select(Order.id).where(Order.id == order.id).with_for_update()).one()
    now = now_utc()
    existing = transaction_of(order.id)
    if existing is not None:
        if as_utc(existing.expires_at) > now:
            return existing.redirect_url
        raise SessionClosed("the Midtrans transaction has expired")
    params = snap_params(order, lines, finish_url)
    ends = as_utc(order.expires_at) if order.expires_at is not None else now
    if ends <= now + timedelta(minutes=1):
        raise SessionClosed("the order's hold has ended")
    try:
        answer = _client().create_transaction(params)
    except CALL_ERRORS as exc:
        current_app.logger.error("Midtrans Snap transaction for %s failed: %s", order.number, exc)
        raise PaymentGatewayError(str(exc)) from exc
    token, url = answer.get("token"), answer.get("redirect_url")
    if not (isinstance(token, str) and isinstance(url, str) and url.startswith(("https://", "http://"))
            and len(token) <= 255 and len(url) <= 500):
        current_app.logger.error("Midtrans Snap answered %s for %s without a token and page", answer, order.number)
        raise PaymentGatewayError("no token in Snap's answer")
    db.session.add(MidtransTransaction(order_id=order.id, snap_token=token, redirect_url=url, expires_at=ends))
    db.session.flush()
    return url


def _item_name(text):
    return text if len(text) <= ITEM_NAME_LIMIT else text[:ITEM_NAME_LIMIT - 1] + "…"


def snap_params(order, lines, finish_url):
    """Snap's request for ``order``: its number and exact total, items that add up to it, the
    buyer, the channels offered, and an expiry at the end of the order's stock hold."""
    items = [{"id": line.sku[:50], "price": line.price_idr, "quantity": line.quantity,
              "name": _item_name(f"{line.name} ({line.village_name})")} for line in lines]
    if order.shipping_idr:
        items.append({"id": "ONGKIR", "price": order.shipping_idr, "quantity": 1,
                      "name": "Ongkos kirim / Shipping"})
    if sum(item["price"] * item["quantity"] for item in items) != order.total_idr:
        # Snap refuses items that do not add up; never send a total of our own making.
        raise PaymentGatewayError(f"the lines of {order.number} do not add up to its total")
    # The hold's whole minutes, counted back from its end: Midtrans' payment expires as the
    # order's stock hold ends (to the second, rounded down), never after it.
    ends = as_utc(order.expires_at) if order.expires_at is not None else as_utc(order.created_at)
    minutes = max(0, round((ends - as_utc(order.created_at)).total_seconds() / 60))
    started = ends.replace(microsecond=0) - timedelta(minutes=minutes)
    address = {"first_name": order.name[:255], "phone": order.phone,
               "address": f"{order.street}, {order.village_ward}, {order.district}"[:200],
               "city": order.regency, "postal_code": order.postal_code, "country_code": "IDN"}
    return {
        "transaction_details": {"order_id": order.number, "gross_amount": order.total_idr},
        "item_details": items,
        "customer_details": {"first_name": order.name[:255], "email": order.email, "phone": order.phone,
                             "shipping_address": address},
        "enabled_payments": list(current_app.config["MIDTRANS_ENABLED_PAYMENTS"]),
        "expiry": {"start_time": started.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S +0700"),
                   "unit": "minute", "duration": minutes},
        "callbacks": {"finish": finish_url},
    }


# --- refunds ------------------------------------------------------------------------------------

def refund_parcel(order, parcel):
    """Give back one parcel that will not ship; ``(state, refund key)``. Through Midtrans' refund
    API for the payment types it refunds (QRIS, GoPay, ShopeePay, DANA, OVO, cards...), with the
    parcel's own key so that it is never refunded twice; a virtual account is the office's."""
    transaction = transaction_of(order.id)
    if not midtrans_enabled() or transaction is None or transaction.payment_type not in REFUNDABLE:
        return "office", None
    key = REFUND_KEY.format(parcel.id)
    try:
        _client().transactions.refund(order.number, {
            "refund_key": key, "amount": parcel.subtotal_idr + parcel.shipping_idr,
            "reason": f"Parcel {parcel.id} of order {order.number} will not ship"})
    except CALL_ERRORS as exc:
        current_app.logger.error("Midtrans refund for %s parcel %s failed: %s", order.number, parcel.id, exc)
        return "refund_failed", None
    return "refunded", key


# --- notifications --------------------------------------------------------------------------------

def signature_for(order_id, status_code, gross_amount, server_key):
    """Midtrans' ``signature_key``: SHA-512, in hex, of the four strings one after the other."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def parse_notification(payload):
    """The notification's JSON once its signature holds; NotificationError otherwise."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotificationError("not JSON") from exc
    if not isinstance(body, dict):
        raise NotificationError("not an object")
    for name in REQUIRED:
        value = body.get(name)
        if not isinstance(value, str) or not value or len(value) > 255:
            raise NotificationError(f"no {name}")
    expected = signature_for(*(body[name] for name in SIGNED), current_app.config["MIDTRANS_SERVER_KEY"])
    if not hmac.compare_digest(expected.encode(), body["signature_key"].encode()):
        raise NotificationError("bad signature")
    return body


@dataclass
class Confirmed:
    """A notification's order and what Midtrans' status API says about its payment now."""

    order: Order
    status: dict


def confirm(notification):
    """Ask Midtrans about the payment a signed notification names; None when it names no order of
    the shop's, or Midtrans knows no such transaction. Raises StatusUnavailable (retry later).
    Reads only: the caller applies the answer in its unit of work (``apply``)."""
    number = notification["order_id"]
    order = db.session.scalars(select(Order).where(Order.number == number)).one_or_none() \
        if len(number) <= 20 else None
    if order is None:
        return None
    try:
        status = _client().transactions.status(order.number)
    except midtransclient.MidtransAPIError as exc:
        if exc.http_status_code == 404 or str((exc.api_response_dict or {}).get("status_code")) == "404":
            current_app.logger.warning("Midtrans notification for %s, but Midtrans knows no such transaction",
                                       order.number)
            return None
        raise StatusUnavailable(str(exc)) from exc
    except CALL_ERRORS as exc:
        raise StatusUnavailable(str(exc)) from exc
    if not isinstance(status, dict) or not all(
            isinstance(status.get(name), str) and status.get(name) for name in
            ("transaction_status", "transaction_id", "status_code")):
        raise StatusUnavailable(f"unreadable status answer for {order.number}")
    return Confirmed(order, status)


def _text(value, limit):
    return value if isinstance(value, str) and len(value) <= limit else None


def whole_rupiah(amount):
    """``"85000.00"`` -> 85000; None for anything that is not a whole number of rupiah."""
    text = str(amount) if isinstance(amount, (str, int)) and not isinstance(amount, bool) else ""
    try:
        value = Decimal(text) if 0 < len(text) <= 20 else None
    except InvalidOperation:
        return None
    if value is None or not value.is_finite() or value.adjusted() >= MAX_DIGITS \
            or value != value.to_integral_value():
        return None
    return int(value)


def took_money(status):
    kind = status.get("transaction_status")
    return kind == "settlement" or (kind == "capture" and status.get("fraud_status") == "accept")


def refusals_for(order, transaction, status):
    """Why Midtrans' answer ``status`` may not act on ``order``: codes of REFUSALS, none for a match.

    It must be the order's own payment: an order paid through Midtrans, with the Snap transaction
    the shop made for it, the same order number, the transaction seen before (if one was), and
    exactly the order's total in rupiah."""
    reasons = []
    if order.payment_method != "midtrans":
        reasons.append("not_midtrans")
    if transaction is None:
        reasons.append("no_transaction")
    if status.get("order_id") != order.number:
        reasons.append("other_order")
    if transaction is not None and transaction.transaction_id not in (None, status["transaction_id"]):
        reasons.append("other_transaction")
    if status.get("currency") not in (None, "IDR"):
        reasons.append("currency")
    if whole_rupiah(status.get("gross_amount")) != order.total_idr:
        reasons.append("amount")
    return reasons


def _key(status):
    """What makes a confirmed status one: the transaction, its status and code (and, for refunds,
    how much has been refunded, since each refund is news)."""
    parts = [status["transaction_id"], status["transaction_status"], status["status_code"]]
    if status["transaction_status"] in REFUNDED:
        parts.append(str(status.get("refund_amount")))
    return ":".join(parts)[:200]


def apply(confirmed):
    """Act once on Midtrans' confirmed status; a short description for the answer and the log.

    A status seen before raises ``IntegrityError`` at the flush of its record: the caller's unit
    of work rolls back and answers "duplicate". The caller commits."""
    order, status = confirmed.order, confirmed.status
    kind, fraud = status["transaction_status"], _text(status.get("fraud_status"), 20)
    record = MidtransNotification(
        key=_key(status), order_id=order.id, transaction_id=_text(status["transaction_id"], 64),
        transaction_status=_text(kind, 20), fraud_status=fraud, status_code=_text(status["status_code"], 3),
        payment_type=_text(status.get("payment_type"), 40), gross_amount_idr=whole_rupiah(status.get("gross_amount")),
        currency=_text(status.get("currency"), 3), took_money=took_money(status))
    db.session.add(record)
    db.session.flush()
    transaction = transaction_of(order.id)
    refused = refusals_for(order, transaction, status)
    if refused:
        record.refusal = " ".join(refused)
        current_app.logger.warning(
            "Midtrans %s (%s) of transaction %s names order %s but does not match it (%s): %s %s. Stored for "
            "the office; the order is unchanged.", kind, fraud, record.transaction_id, order.number,
            record.refusal, status.get("gross_amount"), status.get("currency"))
        return f"refused: {record.refusal}"
    transaction.transaction_id = record.transaction_id
    transaction.payment_type = record.payment_type or transaction.payment_type
    transaction.status = record.transaction_status
    reason = f"Midtrans {kind}"
    if record.took_money:
        def record_amount():
            record_gateway_payment(order, "midtrans", record.gross_amount_idr, record.transaction_id, ACTOR)
        return SETTLED[settle_payment(order, ACTOR, reason, record_amount)]
    if kind == "capture" and fraud == "challenge":
        return "awaiting Midtrans' fraud review"
    if kind == "pending":
        return "awaiting payment"
    if kind in FAILED or kind == "capture":  # a capture whose fraud check denied it
        if kind == "cancel" and order.status == "paid":
            # A captured payment cancelled in Midtrans' dashboard: the money went back.
            return refunded_outside(order, order.total_idr, ACTOR)
        return "cancelled" if cancel_unpaid_order(order.id, ACTOR, reason) else "already settled"
    if kind == "expire":
        return "expired" if expire_order(order.id, ACTOR, reason) else "already settled"
    if kind in REFUNDED:
        return _refunded(order, status)
    return "ignored"


def _refunded(order, status):
    """Money given back in Midtrans. The shop's own refunds carry their parcel's key and were
    booked when the parcel was cancelled; any other (Midtrans' dashboard) is taken back from the
    villages and the order is held (``settling.refunded_outside``)."""
    refunds = status.get("refunds") if isinstance(status.get("refunds"), list) else []
    if refunds and all(isinstance(r, dict) and SHOPS_REFUND.fullmatch(str(r.get("refund_key", "")))
                       for r in refunds):
        return "refunds made by the shop: already booked"
    refunded = whole_rupiah(status.get("refund_amount"))
    if refunded is None:
        refunded = sum(whole_rupiah(r.get("refund_amount")) or 0 for r in refunds if isinstance(r, dict))
    if status["transaction_status"] == "refund":
        refunded = max(refunded, order.total_idr)
    return refunded_outside(order, refunded, ACTOR)


# --- the office -------------------------------------------------------------------------------------

def refused_payments():
    """Notifications whose money was taken but that were refused and that no person has settled
    yet, oldest first, each with the number of the order it named."""
    return db.session.execute(
        select(MidtransNotification, Order.number).outerjoin(Order, Order.id == MidtransNotification.order_id)
        .where(MIDTRANS_NEEDS_OFFICE)
        .order_by(MidtransNotification.received_at, MidtransNotification.id)).all()


def settle_refused_payment(notification_id, actor_name):
    """The office dealt with a refused Midtrans payment (refunded it in Midtrans' dashboard, or
    matched it by hand). True if it was waiting for a person."""
    done = db.session.execute(update(MidtransNotification).where(
        MidtransNotification.id == notification_id, MIDTRANS_NEEDS_OFFICE)
        .values(settled_at=now_utc(), settled_by=actor_name[:160]))
    db.session.flush()
    return done.rowcount == 1


def payment_in_flight(order):
    """Midtrans holds a payment for the order that is not final yet (a pending virtual account,
    a card under fraud review): the buyer may not cancel the order under it."""
    transaction = transaction_of(order.id)
    return transaction is not None and transaction.status in ("pending", "capture", "settlement")
