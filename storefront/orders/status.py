"""The status of an order as a person understands it, derived from its parcels.

One definition, used by the order page, the account's history, the office and the mails. The
stored ``Order.status`` says only whether the money came (awaiting payment, paid) or the order
ended unpaid (cancelled, expired); what happened next lives on the parcels, one per village.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

#: Parcels that will not ship (their money goes back).
NOT_SHIPPING = ("declined", "cancelled")

LABELS = {
    "awaiting_payment": _l("awaiting payment"),
    "cash_on_delivery": _l("confirmed, paid on delivery"),
    "on_hold": _l("paid, being checked by the office"),
    "paid": _l("paid, being prepared"),
    "partly_shipped": _l("partly shipped"),
    "shipped": _l("shipped"),
    "partly_delivered": _l("partly delivered"),
    "delivered": _l("delivered"),
    "cancelled": _l("cancelled"),
    "expired": _l("ended unpaid"),
}


@dataclass(frozen=True)
class OrderState:
    code: str
    #: Some parcels (not all) were declined or cancelled.
    partly_cancelled: bool = False

    @property
    def label(self):
        if self.partly_cancelled:
            return _l("%(status)s, partly cancelled", status=LABELS[self.code])
        return LABELS[self.code]


def order_state(order_status, payment_method, parcel_statuses, held=False):
    """The derived status of an order whose stored status is ``order_status`` and whose parcels
    are in ``parcel_statuses`` (any iterable of parcel status codes)."""
    statuses = list(parcel_statuses)
    if order_status in ("cancelled", "expired"):
        return OrderState(order_status)
    live = [s for s in statuses if s not in NOT_SHIPPING]
    partly = bool(live) and len(live) < len(statuses)
    if statuses and not live:
        return OrderState("cancelled")
    if order_status == "awaiting_payment" and payment_method != "cod":
        return OrderState("awaiting_payment")
    arrived = sum(s == "delivered" for s in live)
    on_the_way = sum(s == "shipped" for s in live)
    if live and arrived == len(live):
        return OrderState("delivered", partly)
    if arrived:
        return OrderState("partly_delivered", partly)
    if live and on_the_way == len(live):
        return OrderState("shipped", partly)
    if on_the_way:
        return OrderState("partly_shipped", partly)
    if held:
        return OrderState("on_hold", partly)
    return OrderState("cash_on_delivery" if payment_method == "cod" else "paid", partly)


def state_of(order, parcels):
    """``order_state`` of an ``Order`` and its ``VillageOrder`` rows."""
    return order_state(order.status, order.payment_method, [p.status for p in parcels], bool(order.hold_reason))
