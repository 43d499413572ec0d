"""What every gateway does with money it reports (Stripe, Midtrans, the next one): pay the order
(held for the office when a product lost its papers while the buyer paid, or when the order had
already ended), and take back from the villages a refund made outside the shop.

The gateways check that a report is about the order's own payment and amount first; these verbs
only settle. Every move is conditional, so a report that arrives twice changes an order once.
The caller's unit of work commits.
"""
from flask import current_app
from sqlalchemy import select, update

from ..clock import now_utc
from ..extensions import db
from ..listing.rule import sellable_product_ids
from ..orders.models import Order, OrderLine, VillageOrder
from ..orders.services import mark_paid
from ..orders.settlement import book_refund
from ..products.models import Product

#: What ``settle_payment`` did, as a gateway's answer to its notification says it.
SETTLED = {"paid": "paid", "ended": "paid after the order ended: held for the office",
           "settled": "already settled"}


class PaymentGatewayError(RuntimeError):
    """The gateway could not be reached or refused; the order stays awaiting payment."""


class SessionClosed(PaymentGatewayError):
    """The order's payment page is no longer open (paid, or its time ran out)."""


#: Why a paid order waits for the office (in English: the office's notes are not translated).
PAPERS_LAPSED = ("A product lost its legality papers while the buyer was paying: the office must check "
                 "before anything ships.")
ENDED_BEFORE_PAYMENT = ("Payment arrived after the order had ended; the office must refund it or reserve "
                        "the goods again.")


def papers_still_valid(order):
    """Whether every product of the order is still sellable (its papers verified and current)."""
    product_ids = db.session.scalars(
        select(OrderLine.product_id).join(VillageOrder, VillageOrder.id == OrderLine.village_order_id)
        .where(VillageOrder.order_id == order.id, OrderLine.product_id.is_not(None))).all()
    if not product_ids:
        return False
    sellable = set(db.session.scalars(sellable_product_ids().where(Product.id.in_(product_ids))))
    return set(product_ids) <= sellable


def settle_payment(order, actor, reason, record_amount):
    """The gateway took the order's total: the order is paid (held if its papers lapsed) and
    ``record_amount()`` writes the money against it. Returns ``paid``, ``ended`` (money for an
    order that had already given its stock back: held for the office, amount recorded, so the
    office refunds it) or ``settled`` (paid before: nothing changes)."""
    hold = None if papers_still_valid(order) else PAPERS_LAPSED
    if mark_paid(order.id, actor, reason, hold_reason=hold):
        record_amount()
        return "paid"
    db.session.refresh(order)
    if order.status in ("expired", "cancelled"):
        order.hold_reason = ENDED_BEFORE_PAYMENT
        record_amount()
        return "ended"
    return "settled"


def refunded_outside(order, refunded_idr, gateway):
    """Money given back in the gateway's own dashboard, not through the shop: it must not stay in
    the villages' balances. The whole order refunded: every parcel not yet refunded is reversed
    in its village's ledger (once, see ``book_refund``) and the order is held so that nothing
    more ships; part of it: held for the office, which decides which parcel it was."""
    parcels = db.session.scalars(select(VillageOrder).where(VillageOrder.order_id == order.id)
                                 .order_by(VillageOrder.village_id)).all()
    if refunded_idr >= order.total_idr:
        for parcel in parcels:
            taken = db.session.execute(update(VillageOrder).where(
                VillageOrder.id == parcel.id, VillageOrder.refund_state.is_(None)).values(
                refund_state="refunded", updated_at=now_utc()))
            if taken.rowcount == 1:
                book_refund(parcel, order, gateway, f"refunded in {gateway}")
        reason = (f"The whole payment was refunded in {gateway}: nothing more may ship; cancel the parcels "
                  "not yet sent.")
    else:
        reason = (f"Rp {refunded_idr:,} was refunded in {gateway} outside the shop: record it against the right "
                  "parcel (cancel or refund it here) before anything more ships.").replace(",", ".")
    db.session.execute(update(Order).where(Order.id == order.id).values(hold_reason=reason, updated_at=now_utc()))
    current_app.logger.warning("%s refunded Rp %s of order %s outside the shop; order held for the office.",
                               gateway, refunded_idr, order.number)
    return "refund outside the shop: held for the office"
