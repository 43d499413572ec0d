"""A buyer who lost the private link to an order asks for it again with the order's number and
the e-mail address it was placed with. The link goes to that address only, through the outbox;
whoever asks learns nothing: the answer (and, in the route, its timing) is the same whether or
not the two match.
"""
import hmac

from sqlalchemy import select

from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail
from .models import Order
from .notices import order_link


def send_order_link(number, email, lang):
    """Queue the private link of order ``number`` to ``email`` if the order was placed with that
    address (any case), in ``lang``; returns whether a mail was queued. The caller commits and
    answers the same either way."""
    number = "".join((number or "").split()).upper()
    email = (email or "").strip().lower()
    order = db.session.scalars(select(Order).where(Order.number == number)).one_or_none()
    if order is None or not hmac.compare_digest(order.email.lower().encode(), email.encode()):
        return False
    mail = render_mail("buyer_order_link", lang, order=order, link=order_link(order))
    enqueue_mail(order.email, mail, kind="order.link")
    return True
