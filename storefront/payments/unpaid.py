"""A buyer gives up an order that is still unpaid: a bank transfer that has not arrived, or an
online payment not completed. The order ends at once and its stock goes back on sale.

Once any money was recorded for the order (part of a transfer: ``reconcile`` says it is the
office's), or a gateway reported a payment that is still being confirmed, the buyer can no
longer end it here. The caller's unit of work commits.
"""
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..orders.models import Order
from ..orders.services import cancel_unpaid_order
from .methods import METHODS as ALL_METHODS, method_for
from .reconcile import PaymentError, money_of

#: The audit reason of the buyer's own cancellation (``orders.timeline`` words it for the buyer).
REASON = "cancelled by the buyer"
#: Payment methods whose unpaid orders the buyer may cancel (cash on delivery is already with the villages).
METHODS = tuple(method.code for method in ALL_METHODS if method.buyer_may_cancel)


def may_cancel(order, money):
    """Whether the buyer may cancel ``order`` whose ``reconcile.Money`` is ``money`` (the order page's button)."""
    return order.status == "awaiting_payment" and order.payment_method in METHODS and money.received_idr == 0


def cancel_unpaid_by_buyer(order_id, actor_name):
    """End the buyer's unpaid order and give its stock back (``orders.services.cancel_unpaid_order``).
    Raises PaymentError, with the reason for the buyer, when it cannot be cancelled."""
    # Locked, so that a transfer the office records at this moment is seen, or waits for this.
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()
                               .execution_options(populate_existing=True)).one_or_none()
    if order is None:
        raise LookupError(order_id)
    if order.status != "awaiting_payment" or order.payment_method not in METHODS:
        raise PaymentError(_("This order is no longer waiting for payment, so it cannot be cancelled here."))
    if money_of(order).received_idr:
        raise PaymentError(_("Part of the payment for this order has arrived, so the office settles it. "
                             "Write to the office if you want to cancel it."))
    in_flight = method_for(order.payment_method).payment_in_flight(order)
    if in_flight:
        raise PaymentError(str(in_flight))
    if not cancel_unpaid_order(order.id, actor_name, REASON):
        raise PaymentError(_("This order is no longer waiting for payment, so it cannot be cancelled here."))
    return order
