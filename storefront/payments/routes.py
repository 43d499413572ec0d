"""The gateways' notification endpoints: Stripe's webhook (signature checked on the raw body) and
Midtrans' HTTP notifications (signature checked, then the status confirmed with Midtrans), each
applied once."""
import stripe
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from ..unit_of_work import unit_of_work
from . import midtrans_gateway
from .stripe_gateway import handle_event, parse_event, stripe_enabled

bp = Blueprint("payments", __name__)


@bp.post("/stripe/webhook")
def stripe_webhook():
    if not stripe_enabled():
        return jsonify(error="stripe is not configured"), 404
    try:
        event = parse_event(request.get_data(), request.headers.get("Stripe-Signature", ""))
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="invalid payload or signature"), 400
    try:
        with unit_of_work():
            result = handle_event(event)
    except IntegrityError:  # the event's id is recorded: it was handled before
        result = "duplicate"
    return jsonify(received=True, result=result)


@bp.post("/midtrans/notification")
def midtrans_notification():
    """200 once handled, seen before or refused (Midtrans stops sending it); 400 for a body that
    is not a signed notification; 503 while Midtrans' status API does not answer (it retries)."""
    if not midtrans_gateway.midtrans_enabled():
        return jsonify(error="midtrans is not configured"), 404
    try:
        notification = midtrans_gateway.parse_notification(request.get_data())
    except midtrans_gateway.NotificationError as exc:
        current_app.logger.warning("Midtrans notification refused: %s", exc)
        return jsonify(error="invalid payload or signature"), 400
    try:
        confirmed = midtrans_gateway.confirm(notification)
    except midtrans_gateway.StatusUnavailable as exc:
        current_app.logger.warning("Midtrans status of %s unavailable: %s", notification["order_id"], exc)
        return jsonify(error="status unavailable, send again later"), 503
    if confirmed is None:
        return jsonify(received=True, result="no matching order")
    try:
        with unit_of_work():
            result = midtrans_gateway.apply(confirmed)
    except IntegrityError:  # this confirmed status is recorded: it was applied before
        result = "duplicate"
    return jsonify(received=True, result=result)
