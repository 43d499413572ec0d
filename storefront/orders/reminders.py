"""The payment reminder: a few hours (``PAYMENT_REMINDER_HOURS``) before an unpaid bank
transfer's hold runs out, its buyer is told what to pay and until when, once per order."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..clock import as_utc, now_utc
from ..extensions import db
from .models import Order
from .notices import tell_buyer_payment_due


def remind_unpaid_orders(now=None):
    """Remind the buyer of each unpaid bank transfer whose hold ends within
    ``PAYMENT_REMINDER_HOURS`` (housekeeping); returns the numbers reminded by this call.

    An order placed when its end was already that near is not reminded (its confirmation said
    until when). Paid, ended and underpaid orders (the office has those; they hold no stock
    until a time) are not reminded. Each reminder is a conditional UPDATE of
    ``payment_reminded_at``, so two runs at once remind an order once. The caller commits."""
    now = now or now_utc()
    window = timedelta(hours=current_app.config["PAYMENT_REMINDER_HOURS"])
    due = db.session.execute(
        select(Order.id, Order.number, Order.created_at, Order.expires_at).where(
            Order.status == "awaiting_payment", Order.payment_method == "bank_transfer",
            Order.payment_reminded_at.is_(None), Order.expires_at.is_not(None),
            Order.expires_at > now, Order.expires_at <= now + window)
        .order_by(Order.id)).all()
    reminded = []
    for order_id, number, created_at, expires_at in due:
        if as_utc(created_at) > as_utc(expires_at) - window:
            continue
        moved = db.session.execute(
            update(Order).where(Order.id == order_id, Order.status == "awaiting_payment",
                                Order.payment_reminded_at.is_(None))
            .values(payment_reminded_at=now).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            continue
        tell_buyer_payment_due(db.session.get(Order, order_id))
        reminded.append(number)
    db.session.flush()
    return reminded
