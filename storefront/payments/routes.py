"""Stripe's webhook endpoint: signature checked on the raw body, each event applied once."""
import stripe
from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError

from ..unit_of_work import unit_of_work
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
