"""Stripe's webhook endpoint: signature checked on the raw body, each event applied once."""
import smtplib

import stripe
from flask import Blueprint, current_app, jsonify, request

from ..extensions import db
from ..mail import send_mail
from ..orders.models import Order
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
    result = handle_event(event)
    if result == "paid":
        _tell_buyer_paid(event["data"]["object"])
    return jsonify(received=True, result=result)


def _tell_buyer_paid(session_object):
    order = db.session.query(Order).filter_by(stripe_session_id=session_object.get("id")).one_or_none()
    if order is None:
        return
    try:
        send_mail([order.email], f"Pembayaran pesanan {order.number} diterima",
                  f"Halo {order.name},\n\nPembayaran untuk pesanan {order.number} sudah kami terima. "
                  "Setiap desa akan mengirim paketnya sendiri.\n")
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.error("payment mail for %s failed: %s", order.number, exc)
