"""Where an order stands, as its buyer (and the office) read it: the order's derived status
(``status.state_of``), each parcel's own status, how it travels, and its history.

A parcel's history is the order's own events (placed, paid, held, ended) and the parcel's
(accepted, shipped, declined...), oldest first, with times stored in UTC and shown in WITA.
Everything for a page of orders is loaded in a few queries, whatever the number of orders.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..villages.models import Village
from .models import OrderEvent, VillageOrder
from .status import state_of
from .tracking import courier_label, opens_parcel, tracking_url

#: A parcel's status in the buyer's words.
PARCEL_LABELS = {
    "awaiting_payment": _l("awaiting payment"),
    "paid": _l("paid, waiting for the village to accept"),
    "accepted": _l("accepted by the village, being prepared"),
    "packed": _l("packed, about to be sent"),
    "shipped": _l("on its way"),
    "delivered": _l("delivered"),
    "declined": _l("declined by the village"),
    "cancelled": _l("cancelled"),
    "expired": _l("ended unpaid"),
}
#: What an event in an order's history means, in the buyer's words (by its ``to_status``).
EVENT_LABELS = {
    "awaiting_payment": _l("order placed"),
    "paid": _l("payment received"),
    "held": _l("held: the office checks the order"),
    "released": _l("checked by the office, released to the villages"),
    "accepted": _l("accepted by the village"),
    "packed": _l("packed"),
    "shipped": _l("sent"),
    "delivered": _l("delivered"),
    "declined": _l("declined by the village"),
    "cancelled": _l("cancelled"),
    "expired": _l("ended unpaid: the payment time ran out"),
    "overdue": _l("not accepted in time: the office is following it up"),
    "refund": _l("money to be returned"),
    "refunded": _l("money returned"),
}
#: Reasons the shop itself writes, in the buyer's words; a reason not here is shown as written
#: only where a person wrote it for the buyer (see ``_reason``).
SYSTEM_REASONS = {
    "received, confirmed by the buyer": _l("you confirmed that it arrived"),
    "no confirmation, counted as delivered": _l("counted as delivered: nobody reported a problem in time"),
    "cancelled by the buyer": _l("you cancelled the order"),
}
#: The same reasons as the village reads them on its parcel's history.
VILLAGE_REASONS = {
    "received, confirmed by the buyer": _l("the buyer confirmed that it arrived"),
    "no confirmation, counted as delivered": _l("counted as delivered: nobody reported a problem in time"),
    "cancelled by the buyer": _l("the buyer cancelled the order"),
    "payment time ran out": _l("the payment time ran out"),
}
#: Who made a move, where it was not a named person. The buyer is never named by contact: the
#: village knows them from the parcel's address, the office from the order.
BUYER_ACTOR = "buyer"
ACTOR_LABELS = {BUYER_ACTOR: _l("the buyer"), "system": _l("the shop, automatically"), "Stripe": "Stripe"}
#: Moves whose reason a person wrote for the buyer to read (declining, cancelling, refunding).
REASONED = ("declined", "cancelled", "refund")
#: Actors whose reasons are technical notes, not words for the buyer.
MACHINES = ("Stripe", "system")


def actor_label(actor_name):
    return ACTOR_LABELS.get(actor_name, actor_name)


def village_reason(event):
    """An event's reason as the village reads it: the shop's own reasons in words, people's as written."""
    return VILLAGE_REASONS.get(event.reason, event.reason)


def parcel_label(status, payment_method):
    """A parcel's status for its buyer: a cash-on-delivery parcel waits for its village, not for money."""
    if status == "awaiting_payment" and payment_method == "cod":
        return _l("waiting for the village to accept; you pay on delivery")
    return PARCEL_LABELS.get(status, status)


@dataclass(frozen=True)
class Step:
    at: object
    label: str
    reason: str = ""


@dataclass
class ParcelView:
    parcel: VillageOrder
    label: str
    history: list = field(default_factory=list)
    #: The courier in words (a village's own delivery says so), or "".
    courier: str = ""
    tracking_url: str | None = None
    #: Whether the tracking link opens the parcel (else the number is typed on the courier's page).
    opens_parcel: bool = False
    village: Village | None = None

    @property
    def lines(self):
        return self.parcel.lines


@dataclass
class OrderView:
    order: object
    state: object
    parcels: list

    @property
    def label(self):
        return self.state.label


def _reason(event):
    if event.reason in SYSTEM_REASONS:
        return SYSTEM_REASONS[event.reason]
    if event.to_status in REASONED and event.actor_name not in MACHINES:
        return event.reason
    return ""


def _step(event):
    return Step(event.created_at, EVENT_LABELS.get(event.to_status, event.to_status), _reason(event))


def order_views(orders, villages=False):
    """``OrderView`` of each order (same order), with their parcels, lines and history; with
    ``villages``, each parcel's village too (for its contact). Four queries at most."""
    orders = list(orders)
    ids = [order.id for order in orders]
    parcels, events, by_village = {}, {}, {}
    if ids:
        for parcel in db.session.scalars(
                select(VillageOrder).where(VillageOrder.order_id.in_(ids))
                .options(selectinload(VillageOrder.lines)).order_by(VillageOrder.id)):
            parcels.setdefault(parcel.order_id, []).append(parcel)
        for event in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(ids))
                                        .order_by(OrderEvent.created_at, OrderEvent.id)):
            events.setdefault(event.order_id, []).append(event)
    if villages:
        village_ids = {p.village_id for rows in parcels.values() for p in rows if p.village_id}
        if village_ids:
            by_village = {v.id: v for v in db.session.scalars(select(Village).where(Village.id.in_(village_ids)))}
    views = []
    for order in orders:
        rows = parcels.get(order.id, [])
        history = events.get(order.id, [])
        views.append(OrderView(order, state_of(order, rows), [
            ParcelView(parcel=p, label=parcel_label(p.status, order.payment_method),
                       history=[_step(e) for e in history if e.village_order_id in (None, p.id)],
                       courier=courier_label(p.courier) if p.courier else "",
                       tracking_url=tracking_url(p.courier, p.tracking_number),
                       opens_parcel=opens_parcel(p.courier), village=by_village.get(p.village_id))
            for p in rows]))
    return views


def order_view(order, villages=True):
    """``OrderView`` of one order, its parcels' villages included."""
    return order_views([order], villages=villages)[0]
