"""Stripe Checkout (hosted page: no card data touches this server) and its webhook events.

Enabled by STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. Fulfilment comes from webhooks only;
each event id is recorded once, and every handler is a conditional status move, so events
that arrive twice, together or out of order change an order once. An event acts only on the
order whose own Checkout Session it is (``refusals_for``); any other is kept for the office.
"""
import hashlib
import json
from datetime import datetime, timedelta, timezone

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..clock import as_utc, now_utc
from ..extensions import db
from ..money import to_stripe_amount
from ..orders.models import Order
from ..orders.services import cancel_unpaid_order, expire_order
from .models import NEEDS_OFFICE, StripeEvent
from .reconcile import record_card_payment
from .settling import SETTLED, PaymentGatewayError, SessionClosed, refunded_outside, settle_payment

#: Stripe's shortest Checkout Session lifetime; stock is held for as long.
SESSION_MINUTES = 30
#: Events that say a Checkout Session's money was taken (completed may still be waiting for it).
PAYMENT_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
#: The Checkout Session events the shop acts on; any other event is recorded and ignored.
SESSION_EVENTS = PAYMENT_EVENTS + ("checkout.session.async_payment_failed", "checkout.session.expired")
#: Why an event was not applied to the order it named, for the office.
REFUSALS = {
    "not_card": _l("The order is not paid by card."),
    "other_session": _l("The payment was made in another Stripe checkout, not the one made for this order."),
    "not_payment": _l("The Stripe checkout is not a one-off payment."),
    "currency": _l("The payment is not in rupiah."),
    "amount": _l("The amount paid is not the order's total."),
    "not_paid": _l("Stripe does not report the payment as paid."),
}




def stripe_enabled():
    cfg = current_app.config
    return bool(cfg.get("STRIPE_SECRET_KEY") and cfg.get("STRIPE_WEBHOOK_SECRET"))


def _client():
    cfg = current_app.config
    return stripe.StripeClient(cfg["STRIPE_SECRET_KEY"], base_addresses=(
        {"api": cfg["STRIPE_API_BASE"]} if cfg.get("STRIPE_API_BASE") else {}),
        max_network_retries=1, http_client=stripe.RequestsClient(timeout=cfg.get("STRIPE_TIMEOUT", 10)))


def _session_expiry(order, now):
    """When the Checkout Session closes: when the order's stock hold ends, within Stripe's limits
    (30 minutes to 24 hours after creation); the hold is stretched to match."""
    held_until = as_utc(order.expires_at) if order.expires_at is not None else None
    return min(max(held_until or now, now + timedelta(minutes=SESSION_MINUTES + 1)),
               now + timedelta(hours=23))


def checkout_session_for(order, lines, success_url, cancel_url):
    """The order's open Checkout Session: the one made before if it is still open, else a new one.

    Raises SessionClosed when the earlier session was paid or expired, PaymentGatewayError when
    Stripe cannot be reached or refuses.
    """
    client = _client()
    try:
        if order.stripe_session_id:
            session = client.v1.checkout.sessions.retrieve(order.stripe_session_id)
            if session.status == "open":
                return session
            raise SessionClosed(session.status)
        now = now_utc()
        if order.expires_at is not None and as_utc(order.expires_at) <= now:
            raise SessionClosed("the order's hold has ended")
        params = _session_params(order, lines, success_url, cancel_url, now)
        # Same parameters, same key: a retry after a lost answer gets the same session back;
        # anything changed (a later hold, another return URL) is a new request to Stripe.
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:24]
        session = client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": f"checkout-{order.number}-{digest}"})
    except stripe.StripeError as exc:
        current_app.logger.error("Stripe Checkout Session for %s failed: %s", order.number, exc)
        raise PaymentGatewayError(str(exc)) from exc
    order.stripe_session_id = session.id
    order.expires_at = datetime.fromtimestamp(params["expires_at"], timezone.utc)
    db.session.flush()
    return session


def _session_params(order, lines, success_url, cancel_url, now):
    line_items = [{
        "quantity": line.quantity,
        "price_data": {"currency": "idr", "unit_amount": to_stripe_amount(line.price_idr),
                       "product_data": {"name": f"{line.name} ({line.village_name})"}},
    } for line in lines]
    if order.shipping_idr:
        line_items.append({"quantity": 1, "price_data": {
            "currency": "idr", "unit_amount": to_stripe_amount(order.shipping_idr),
            "product_data": {"name": "Ongkos kirim / Shipping"}}})
    return {
        "mode": "payment", "line_items": line_items, "customer_email": order.email,
        "client_reference_id": order.number, "metadata": {"order_number": order.number},
        "success_url": success_url, "cancel_url": cancel_url,
        "expires_at": int(_session_expiry(order, now).timestamp()),
    }


def refund_parcel(order, parcel):
    """Give a card payment back for one parcel that will not ship; ``(state, refund_id)``.

    The idempotency key is the parcel's, so a retry can never refund it twice."""
    if not (stripe_enabled() and order.stripe_payment_intent):
        return "refund_failed", None
    try:
        refund = _client().v1.refunds.create(params={
            "payment_intent": order.stripe_payment_intent,
            "amount": to_stripe_amount(parcel.subtotal_idr + parcel.shipping_idr),
            "metadata": {"order_number": order.number, "parcel_id": str(parcel.id)},
        }, options={"idempotency_key": f"refund-parcel-{parcel.id}"})
    except stripe.StripeError as exc:
        current_app.logger.error("Stripe refund for %s parcel %s failed: %s", order.number, parcel.id, exc)
        return "refund_failed", None
    return "refunded", refund.id


def parse_event(payload, signature):
    """Verify ``Stripe-Signature`` on the raw body with the official library; raise on failure.

    Returns the event as plain dicts and lists."""
    stripe.WebhookSignature.verify_header(
        payload, signature, current_app.config["STRIPE_WEBHOOK_SECRET"], stripe.Webhook.DEFAULT_TOLERANCE)
    # The verified payload as plain dicts: the library's objects stopped being dicts.
    event = json.loads(payload)
    if not (isinstance(event, dict) and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance((event.get("data") or {}).get("object"), dict)):
        raise ValueError("not a Stripe event")
    return event


def _order_for(session_object):
    """The order an event names: the one whose Checkout Session it is, else the one its
    ``metadata.order_number`` or ``client_reference_id`` names (which need not be its own)."""
    session_id = _text(session_object.get("id"), 255)
    order = None
    if session_id:
        order = db.session.scalars(select(Order).where(Order.stripe_session_id == session_id)).one_or_none()
    metadata = session_object.get("metadata")
    for number in ((metadata if isinstance(metadata, dict) else {}).get("order_number"),
                   session_object.get("client_reference_id")):
        if order is None and _text(number, 20):
            order = db.session.scalars(select(Order).where(Order.number == number)).one_or_none()
    return order


def _text(value, limit):
    """``value`` if it is a string that fits a column of ``limit`` characters, else None."""
    return value if isinstance(value, str) and len(value) <= limit else None


def _whole(value):
    """``value`` if it is a whole number (JSON's ``true`` is not one), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def refusals_for(order, session_object, kind):
    """Why the event ``kind`` about ``session_object`` may not settle ``order``: codes of
    REFUSALS, none for a full match.

    Any event must come from the order's own Checkout Session of a card order: Payment Links
    and other Checkouts on the same Stripe account send signed events too, and a buyer can put
    any order number in a Payment Link's ``client_reference_id``. An event that says money was
    taken must also be a one-off payment of exactly the order's total, in rupiah."""
    reasons = []
    if order.payment_method != "stripe":
        reasons.append("not_card")
    if not order.stripe_session_id or _text(session_object.get("id"), 255) != order.stripe_session_id:
        reasons.append("other_session")
    if kind in PAYMENT_EVENTS:
        if session_object.get("mode") != "payment":
            reasons.append("not_payment")
        if session_object.get("currency") != "idr":
            reasons.append("currency")
        if _whole(session_object.get("amount_total")) != to_stripe_amount(order.total_idr):
            reasons.append("amount")
        if kind == "checkout.session.async_payment_succeeded" and session_object.get("payment_status") != "paid":
            reasons.append("not_paid")
    return reasons


def handle_event(event):
    """Apply one verified event, once. Returns a short description for the log/response.

    An event that does not fully match the order it names is stored with its reasons and
    logged, and changes nothing (see ``refusals_for``). An event seen before raises
    ``IntegrityError`` at the flush of its record: the caller's unit of work rolls back and
    answers "duplicate". The caller commits."""
    kind = event["type"]
    session_object = event["data"]["object"]
    record = StripeEvent(id=event["id"], type=kind)
    if kind in SESSION_EVENTS:
        record.session_id = _text(session_object.get("id"), 255)
        record.amount_total = _whole(session_object.get("amount_total"))
        record.currency = _text(session_object.get("currency"), 3)
        record.payment_status = _text(session_object.get("payment_status"), 30)
    db.session.add(record)
    db.session.flush()
    if kind == "charge.refunded":
        return _charge_refunded(record, session_object)
    if kind not in SESSION_EVENTS:
        return "ignored"
    order = _order_for(session_object)
    if order is None:
        return "no matching order"
    record.order_id = order.id
    refused = refusals_for(order, session_object, kind)
    if refused:
        record.refusal = " ".join(refused)
        current_app.logger.warning(
            "Stripe event %s (%s) names order %s but does not match it (%s): session %s, %s %s, "
            "payment %s. Stored for the office; the order is unchanged.",
            record.id, kind, order.number, record.refusal, record.session_id, record.amount_total,
            record.currency, record.payment_status)
        return f"refused: {record.refusal}"
    actor = "Stripe"
    if kind in PAYMENT_EVENTS:
        if kind == "checkout.session.completed" and session_object.get("payment_status") != "paid":
            result = "awaiting asynchronous payment"
        else:
            def record():
                order.stripe_payment_intent = _text(session_object.get("payment_intent"), 255)
                _record_amount(order, session_object)
            result = SETTLED[settle_payment(order, actor, kind, record)]
    elif kind == "checkout.session.async_payment_failed":
        result = "cancelled" if cancel_unpaid_order(order.id, actor, kind) else "already settled"
    else:  # checkout.session.expired
        result = "expired" if expire_order(order.id, actor, kind) else "already settled"
    return result


def _charge_refunded(record, charge):
    """Money given back in Stripe. A refund the shop made itself names its parcel and was booked
    when the parcel was cancelled; one made elsewhere (Stripe's dashboard) is taken back from the
    villages and the order held (``settling.refunded_outside``)."""
    intent = _text(charge.get("payment_intent"), 255)
    order = db.session.scalars(select(Order).where(Order.stripe_payment_intent == intent)).one_or_none() \
        if intent else None
    if order is None:
        return "no matching order"
    record.order_id = order.id
    refunds = (charge.get("refunds") or {}).get("data") or []
    if refunds and all(str((r.get("metadata") or {}).get("parcel_id", "")).isdigit() for r in refunds):
        return "refunds made by the shop: already booked"
    return refunded_outside(order, (_whole(charge.get("amount_refunded")) or 0) // 100, "Stripe")


def _record_amount(order, session_object):
    """Record against the order what Stripe reports it took (``refusals_for`` has checked that it
    is the order's total, in rupiah), named by its PaymentIntent, else its Checkout Session."""
    reference = _text(session_object.get("payment_intent"), 255) or _text(session_object.get("id"), 255)
    record_card_payment(order, _whole(session_object.get("amount_total")) or 0, reference)


def refused_payments():
    """Events that took money but were refused and no person has settled yet, oldest first,
    each with the number of the order it named (or None)."""
    return db.session.execute(
        select(StripeEvent, Order.number).outerjoin(Order, Order.id == StripeEvent.order_id)
        .where(NEEDS_OFFICE)
        .order_by(StripeEvent.received_at, StripeEvent.id)).all()


def settle_refused_payment(event_id, actor_name):
    """The office dealt with a refused payment in Stripe (refunded it, or matched it to the
    order by hand). True if it was waiting for a person."""
    done = db.session.execute(update(StripeEvent).where(StripeEvent.id == event_id, NEEDS_OFFICE)
                              .values(settled_at=now_utc(), settled_by=actor_name[:160]))
    db.session.flush()
    return done.rowcount == 1


def payment_in_flight(order):
    """Stripe said the buyer completed the payment page, but the money is still on its way."""
    return db.session.scalar(select(StripeEvent.id).where(
        StripeEvent.order_id == order.id, StripeEvent.type == "checkout.session.completed",
        StripeEvent.refusal.is_(None)).limit(1)) is not None
