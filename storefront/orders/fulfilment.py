"""A village's parcel after payment: accept, pack, ship, deliver; or decline/cancel.

The allowed moves are one table. Each move is a conditional UPDATE (``WHERE status = from``),
so two members pressing buttons on two phones change a parcel once; each move writes an
audit row and queues the village's order events in the same transaction.
"""
from dataclasses import dataclass

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, select, update

from ..clock import now_utc
from ..extensions import db
from .models import Order, OrderEvent, OrderLine, VillageOrder
from .notices import record_parcel_event, tell_parcel_moved, tell_parcel_refunded
from .services import OrderError, release_lines
from .settlement import book_delivered, book_refund, delivery_deadline
from .tracking import ShipmentError, shipment

VILLAGE, OFFICE, BUYER = "village", "office", "buyer"
#: The actor name of the shop's own housekeeping moves (a parcel counted as delivered).
SYSTEM = "system"

#: (from, to) -> who may make the move.
TRANSITIONS = {
    ("paid", "accepted"): {VILLAGE, OFFICE},
    ("paid", "declined"): {VILLAGE},
    ("paid", "cancelled"): {OFFICE},
    ("accepted", "packed"): {VILLAGE},
    ("accepted", "cancelled"): {VILLAGE, OFFICE},
    ("packed", "shipped"): {VILLAGE},
    ("packed", "cancelled"): {VILLAGE, OFFICE},
    ("shipped", "delivered"): {VILLAGE, OFFICE, BUYER},
}
#: Ends in which the goods stay home: the stock returns and money taken is given back.
NOT_SHIPPING = ("declined", "cancelled")
#: Statuses with something for the village to do, in the order of the work (a parcel still
#: awaiting payment reaches a village only when it is cash on delivery).
NEEDS_ACTION = ("awaiting_payment", "paid", "accepted", "packed")

STATUS_LABELS = {
    "awaiting_payment": _l("awaiting payment"), "paid": _l("paid, to accept"),
    "accepted": _l("accepted"), "packed": _l("packed"), "shipped": _l("shipped"),
    "delivered": _l("delivered"), "declined": _l("declined"), "cancelled": _l("cancelled"),
    "expired": _l("expired"),
}


@dataclass
class Change:
    to_status: str
    reason: str = ""
    courier: str = ""
    tracking_number: str = ""


def allowed_moves(status, side, payment_method=None):
    """The statuses a parcel in ``status`` may move to, for ``side``."""
    moves = [to for (frm, to), sides in TRANSITIONS.items() if frm == status and side in sides]
    if status == "awaiting_payment" and payment_method == "cod":
        # Cash on delivery: nothing is paid before the parcel arrives, so work starts at once.
        moves = [to for (frm, to), sides in TRANSITIONS.items() if frm == "paid" and side in sides]
    return moves


def change_parcel(village_order_id, change, *, side, actor_name, village_id=None, refund=None):
    """Move one parcel; the caller commits. ``village_id`` scopes a village member's move.

    ``refund(order, village_order)`` gives money back for a prepaid parcel that will not ship
    (``payments.methods.refund_parcel``); it returns ``(state, refund_id)``. Raises OrderError
    with a message for the user.
    """
    stmt = select(VillageOrder).where(VillageOrder.id == village_order_id)
    if village_id is not None:
        stmt = stmt.where(VillageOrder.village_id == village_id)
    parcel = db.session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if parcel is None:
        raise LookupError(village_order_id)
    order = db.session.get(Order, parcel.order_id)
    frm, to = parcel.status, change.to_status
    if order.hold_reason and side == VILLAGE:
        raise OrderError(_("The office is checking this order; wait until it is released."))
    if to not in allowed_moves(frm, side, order.payment_method):
        raise OrderError(_("A parcel that is %(status)s cannot become %(new)s.",
                           status=STATUS_LABELS.get(frm, frm), new=STATUS_LABELS.get(to, to)))
    values = {"status": to, "updated_at": now_utc()}
    reason = " ".join(change.reason.split())
    if to in NOT_SHIPPING:
        if not reason:
            raise OrderError(_("Say why, so the buyer and the office know."), field="reason")
        values["status_reason"] = reason[:500]
    if to == "shipped":
        try:
            values.update(shipment(change.courier, change.tracking_number), shipped_at=now_utc())
        except ShipmentError as exc:
            raise OrderError(str(exc), field=exc.field) from None
    if to == "accepted":
        values["accepted_at"] = now_utc()
    if to == "delivered":
        values["delivered_at"] = now_utc()
    moved = db.session.execute(update(VillageOrder).where(
        VillageOrder.id == parcel.id, VillageOrder.status == frm).values(**values))
    if moved.rowcount != 1:  # the caller's unit of work rolls back
        raise OrderError(_("Someone else changed this parcel a moment ago. Look at it again."))
    db.session.add(OrderEvent(order_id=order.id, village_order_id=parcel.id, from_status=frm,
                              to_status=to, actor_name=actor_name[:160], reason=reason[:500]))
    if to in NOT_SHIPPING:
        release_lines(select(OrderLine.product_id, OrderLine.quantity)
                      .where(OrderLine.village_order_id == parcel.id))
        _settle_money(order, parcel, refund)
        book_refund(parcel, order, actor_name, reason)
    if to == "delivered":
        book_delivered(parcel, order, actor_name)
    db.session.flush()
    record_parcel_event("order.status_changed", parcel.id)
    if to in NOT_SHIPPING:
        record_parcel_event("order.cancelled", parcel.id)
    tell_parcel_moved(parcel.id, to, by=side, automatic=actor_name == SYSTEM)
    return parcel


def _settle_money(order, parcel, refund):
    """Money taken for goods that will not ship goes back the way it came: ``refund`` is the
    payment method's (``payments.methods.refund_parcel``): through the gateway where it can, else
    flagged for the office, which pays it back by hand (a bank transfer, a virtual account)."""
    if order.status != "paid" or parcel.refund_state == "refunded":
        return  # cash on delivery, never paid, or given back already (e.g. in a gateway's dashboard)
    state, refund_id = refund(order, parcel) if refund is not None else ("office", None)
    db.session.execute(update(VillageOrder).where(VillageOrder.id == parcel.id)
                       .values(refund_state=state, stripe_refund_id=refund_id))


def parcel_counts(village_id):
    """Parcels per status for one village: what the portal shows as needing action."""
    rows = db.session.execute(
        select(VillageOrder.status, func.count()).join(Order, Order.id == VillageOrder.order_id)
        .where(VillageOrder.village_id == village_id).group_by(VillageOrder.status)).all()
    return dict(rows)


def refund_delivered(village_order_id, reason, *, actor_name, refund=None):
    """The office gives back the money of a parcel that arrived (damaged, wrong goods): what the
    village earned from it is reversed once; ``refund`` gives the money back the way it was paid
    (or flags it for the office to return by hand)."""
    reason = " ".join(reason.split())
    if not reason:
        raise OrderError(_("Say why, so the buyer and the office know."), field="reason")
    parcel = db.session.get(VillageOrder, village_order_id, populate_existing=True)
    if parcel is None:
        raise LookupError(village_order_id)
    order = db.session.get(Order, parcel.order_id)
    if parcel.status != "delivered" or parcel.refund_state is not None or order.payment_method == "cod":
        raise OrderError(_("Only a delivered, prepaid parcel that was not refunded yet can be refunded here."))
    taken = db.session.execute(update(VillageOrder).where(
        VillageOrder.id == parcel.id, VillageOrder.refund_state.is_(None))
        .values(refund_state="office", status_reason=reason[:500], updated_at=now_utc()))
    if taken.rowcount != 1:
        raise OrderError(_("Someone else changed this parcel a moment ago. Look at it again."))
    db.session.add(OrderEvent(order_id=order.id, village_order_id=parcel.id, from_status="delivered",
                              to_status="refund", actor_name=actor_name[:160], reason=reason[:500]))
    _settle_money(order, parcel, refund)
    book_refund(parcel, order, actor_name, reason)
    db.session.flush()
    tell_parcel_refunded(parcel.id)
    return parcel


def deliver_unconfirmed_parcels(now=None):
    """Parcels shipped ``DELIVERED_AFTER_DAYS`` ago that nobody confirmed count as delivered
    (housekeeping); returns the ids moved by this call."""
    due = db.session.scalars(select(VillageOrder.id).where(
        VillageOrder.status == "shipped", VillageOrder.shipped_at < delivery_deadline(now))
        .order_by(VillageOrder.id)).all()
    moved = []
    for parcel_id in due:
        try:
            change_parcel(parcel_id, Change("delivered", reason="no confirmation, counted as delivered"),
                          side=OFFICE, actor_name=SYSTEM)
        except OrderError:
            continue  # moved by someone else meanwhile: its conditional UPDATE wrote nothing
        moved.append(parcel_id)
    return moved
