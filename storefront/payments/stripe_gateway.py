"""Stripe Checkout (hosted page: no card data touches this server) and its webhook events.

Enabled by STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. Fulfilment comes from webhooks only;
each event id is recorded once, and every handler is a conditional status move, so events
that arrive twice, together or out of order change an order once.
"""
import hashlib
import json
from datetime import datetime, timedelta, timezone

import stripe
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..catalog.models import Product
from ..catalog.sellable import sellable_product_ids
from ..clock import as_utc, now_utc
from ..extensions import db
from ..money import to_stripe_amount
from ..orders.models import Order, OrderLine, VillageOrder
from ..orders.services import cancel_unpaid_order, expire_order, mark_paid
from .models import StripeEvent

#: Stripe's shortest Checkout Session lifetime; stock is held for as long.
SESSION_MINUTES = 30


class PaymentGatewayError(RuntimeError):
    """Stripe could not be reached or refused; the order stays awaiting payment."""


def stripe_enabled():
    cfg = current_app.config
    return bool(cfg.get("STRIPE_SECRET_KEY") and cfg.get("STRIPE_WEBHOOK_SECRET"))


def _client():
    cfg = current_app.config
    return stripe.StripeClient(cfg["STRIPE_SECRET_KEY"], base_addresses=(
        {"api": cfg["STRIPE_API_BASE"]} if cfg.get("STRIPE_API_BASE") else {}),
        max_network_retries=1, http_client=stripe.RequestsClient(timeout=cfg.get("STRIPE_TIMEOUT", 10)))


class SessionClosed(PaymentGatewayError):
    """The order's Checkout Session is no longer open (paid, or its time ran out)."""


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
    number = (session_object.get("metadata") or {}).get("order_number") or session_object.get("client_reference_id")
    stmt = select(Order).where(Order.stripe_session_id == session_object.get("id"))
    order = db.session.scalars(stmt).one_or_none()
    if order is None and number:
        order = db.session.scalars(select(Order).where(Order.number == number)).one_or_none()
    return order


def _papers_still_valid(order):
    product_ids = db.session.scalars(
        select(OrderLine.product_id).join(VillageOrder, VillageOrder.id == OrderLine.village_order_id)
        .where(VillageOrder.order_id == order.id, OrderLine.product_id.is_not(None))).all()
    if not product_ids:
        return False
    sellable = set(db.session.scalars(sellable_product_ids().where(Product.id.in_(product_ids))))
    return set(product_ids) <= sellable


def handle_event(event):
    """Apply one verified event, once. Returns a short description for the log/response."""
    try:
        db.session.add(StripeEvent(id=event["id"], type=event["type"]))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    kind = event["type"]
    session_object = event["data"]["object"]
    order = _order_for(session_object)
    if order is None:
        db.session.commit()
        return "no matching order"
    actor = "Stripe"
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if kind == "checkout.session.completed" and session_object.get("payment_status") != "paid":
            result = "awaiting asynchronous payment"
        else:
            hold = None if _papers_still_valid(order) else (
                "A product lost its legality papers while the buyer was paying: the office must check before anything ships.")
            if mark_paid(order.id, actor, kind, hold_reason=hold):
                order.stripe_payment_intent = session_object.get("payment_intent")
                result = "paid"
            elif order.status in ("expired", "cancelled"):
                # Money arrived for an order that already gave its stock back: a person decides.
                order.hold_reason = ("Payment arrived after the order had ended; the office must "
                                     "refund it or reserve the goods again.")
                result = "paid after the order ended: held for the office"
            else:
                result = "already settled"
    elif order.stripe_session_id not in (None, session_object.get("id")):
        # A session the buyer never saw (its create answer was lost and a retry made another):
        # its failure or expiry says nothing about the session the buyer is paying on.
        result = "ignored: not the order's current session"
    elif kind == "checkout.session.async_payment_failed":
        result = "cancelled" if cancel_unpaid_order(order.id, actor, kind) else "already settled"
    elif kind == "checkout.session.expired":
        result = "expired" if expire_order(order.id, actor, kind) else "already settled"
    else:
        result = "ignored"
    db.session.execute(StripeEvent.__table__.update().where(StripeEvent.id == event["id"])
                       .values(order_id=order.id))
    db.session.commit()
    return result
