"""What the office reads about one order, on its own page: the buyer and the address, each parcel
with its goods, status, courier, tracking and history, the money received and returned, and
what the office may still do. Loaded in a fixed number of queries, whatever the order holds.

The labels of money moves and of parcel refunds live here, with the office's other words for
orders; order and parcel statuses keep theirs in ``orders/status.py``, ``orders/timeline.py``
and ``orders/fulfilment.py``.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..orders.fulfilment import OFFICE, allowed_moves
from ..orders.models import Order, OrderEvent
from ..orders.timeline import EVENT_LABELS, MACHINES, REASONED, VILLAGE_REASONS, actor_label, order_view
from ..payments import reconcile
from ..payments.methods import LABELS as PAYMENT_LABELS

#: How money moved for an order (``PaymentReceived.method``), in the office's words.
RECEIVED_LABELS = {
    "bank_transfer": _l("bank transfer"),
    "stripe": _l("card (Stripe)"),
    "midtrans": _l("QRIS, virtual account or e-wallet (Midtrans)"),
    "refund": _l("returned to the buyer"),
}
#: What happened to the money of a parcel that did not ship, or was refunded after delivery.
REFUND_LABELS = {
    "refunded": _l("money returned to the buyer"),
    "refund_failed": _l("the card refund failed: return the money by hand"),
    "office": _l("money to return to the buyer by hand"),
}
#: The office's moves on a parcel (``fulfilment.TRANSITIONS``), as its buttons say them.
MOVE_LABELS = {
    "accepted": _l("Accept for the village"),
    "cancelled": _l("Cancel parcel"),
    "delivered": _l("Mark delivered"),
}


def payment_label(method):
    """An order's payment method in words (``payments.methods.LABELS``)."""
    return PAYMENT_LABELS.get(method, method)


@dataclass(frozen=True)
class Step:
    """One line of a history as the office reads it: when, what, who, and why."""

    at: object
    label: str
    actor: str
    reason: str = ""


@dataclass
class OrderPage:
    order: Order
    #: ``timeline.OrderView``: the derived status, and each parcel with its village.
    view: object
    #: ``reconcile.Money``: total, received, missing, to return.
    money: object
    payments: list
    receipts: list
    #: The order's own steps (placed, paid, held, ended) and each parcel's, by parcel id.
    history: list
    parcel_history: dict = field(default_factory=dict)
    #: The office's moves per parcel id (none while the order is held).
    moves: dict = field(default_factory=dict)
    #: Delivered parcels paid before they shipped, not refunded yet: a complaint may refund them.
    refundable: set = field(default_factory=set)


def _reason(event):
    """A reason the office may read: the shop's own in words, a person's as written; a
    machine's technical note is left out."""
    if event.reason in VILLAGE_REASONS:
        return VILLAGE_REASONS[event.reason]
    if event.to_status in REASONED and event.actor_name not in MACHINES:
        return event.reason
    return ""


def _step(event):
    return Step(event.created_at, EVENT_LABELS.get(event.to_status, event.to_status),
                actor_label(event.actor_name), _reason(event))


def order_page(number):
    """``OrderPage`` of the order numbered ``number`` (as typed: spaces and case do not matter),
    or None."""
    number = "".join((number or "").split()).upper()
    order = db.session.scalars(select(Order).where(Order.number == number)).one_or_none()
    if order is None:
        return None
    view = order_view(order)
    events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                .order_by(OrderEvent.created_at, OrderEvent.id)).all()
    parcel_history = {}
    for event in events:
        if event.village_order_id is not None:
            parcel_history.setdefault(event.village_order_id, []).append(_step(event))
    payments = reconcile.payments_of([order.id]).get(order.id, [])
    moves = {} if order.hold_reason else {
        p.parcel.id: allowed_moves(p.parcel.status, OFFICE, order.payment_method) for p in view.parcels}
    return OrderPage(order=order, view=view, money=reconcile.money_of(order, sum(p.amount_idr for p in payments)),
                     payments=payments, receipts=reconcile.receipts_of([order.id]).get(order.id, []),
                     history=[_step(e) for e in events if e.village_order_id is None],
                     parcel_history=parcel_history, moves=moves, refundable={
                         p.parcel.id for p in view.parcels if p.parcel.status == "delivered"
                         and p.parcel.refund_state is None and order.payment_method != "cod"})
